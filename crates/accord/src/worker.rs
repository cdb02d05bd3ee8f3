//! Background work of `accord serve`: the escalation sweep and e-mail delivery.
//!
//! Servers keep no state. The database decides what is due (`sweep` escalates each issue exactly
//! once however many servers sweep) and who sends which mail (a lease per mail, taken again when
//! it lapses), so any number of servers can run these loops side by side.

use accord_domain::clock::Clock;
use accord_store::{OutboxMail, Store, SweepReport};
use anyhow::anyhow;
use jiff::{SignedDuration, Timestamp};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

/// Mails leased at a time.
pub const BATCH: u32 = 50;
/// How long a lease keeps other servers off a mail.
pub const LEASE: SignedDuration = SignedDuration::from_mins(2);
/// How often the outbox is looked at (besides right after each sweep).
pub const MAIL_EVERY: Duration = Duration::from_secs(5);
/// The longest one delivery may take, connection included.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// No send starts later than this into a lease, so each one ends (or is given up) while the lease
/// still holds: a mail sent after its lease lapsed may be sent again by another server.
const LAST_START: Duration = Duration::from_secs(LEASE.as_secs() as u64 - SEND_TIMEOUT.as_secs() - 15);
/// How long shutting down waits for a sweep or a delivery under way.
const GRACE: Duration = Duration::from_secs(15);

/// The wait before trying a mail again that has failed `attempts` times before this failure:
/// 30 s, doubling with every attempt, at most an hour.
pub fn retry_delay(attempts: i32) -> SignedDuration {
    // 30 s × 2^7 is past the hour already; clamping keeps the shift in range.
    let exponent = attempts.clamp(0, 7) as u32;
    SignedDuration::from_secs((30_i64 << exponent).min(3600))
}

/// An SMTP server to send through, and who this process is when it leases mail.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    owner: String,
    /// The site's public address, put in front of each mail's link.
    site: String,
}

impl Mailer {
    /// `url` is `smtp://HOST:PORT` (plain), `smtp://USER:PASS@HOST:587?tls=required` (STARTTLS) or
    /// `smtps://USER:PASS@HOST:465` (TLS from the start); `from` is e.g. `Accord <accord@example.org>`.
    /// Make and drop it inside the Tokio runtime: its connection pool lives there.
    pub fn new(url: &str, from: &str) -> anyhow::Result<Mailer> {
        let from: Mailbox = from.parse().map_err(|e| anyhow!("--mail-from: {from:?} is not an address ({e})"))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow!("--smtp-url: {} is not usable ({e})", redact(url)))?
            .timeout(Some(SEND_TIMEOUT))
            .build();
        Ok(Mailer { transport, from, owner: owner_id(), site: String::new() })
    }

    /// Links in mail point at `public_url` (e.g. `https://accord.example.org`).
    pub fn with_site(mut self, public_url: &str) -> Mailer {
        self.site = public_url.trim_end_matches('/').to_owned();
        self
    }

    /// The name this process leases mail under.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The body with the link, made absolute, below it.
    fn text(&self, mail: &OutboxMail) -> String {
        let body = mail.body.trim_end();
        match mail.link.as_str() {
            "" => format!("{body}\n"),
            link if link.starts_with('/') => format!("{body}\n\n{}{link}\n", self.site),
            link => format!("{body}\n\n{link}\n"),
        }
    }

    async fn send(&self, mail: &OutboxMail) -> Result<(), Failure> {
        let refused = |error: String| Failure { error, unreachable: false };
        let to: Mailbox = mail.to.parse().map_err(|e| refused(format!("the recipient {:?} is not an address ({e})", mail.to)))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            // The same id on every try, so a receiving system can recognise a mail sent twice
            // (after a lease lapsed mid-send).
            .message_id(Some(format!("<{}@{}>", mail.id, self.from.email.domain())))
            .header(ContentType::TEXT_PLAIN)
            .body(self.text(mail))
            .map_err(|e| refused(format!("cannot build the message ({e})")))?;
        match tokio::time::timeout(SEND_TIMEOUT, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            // An SMTP reply (4xx, 5xx) is about this mail; no reply at all is about the server.
            Ok(Err(e)) => Err(Failure { unreachable: e.status().is_none(), error: e.to_string() }),
            Err(_) => {
                Err(Failure { error: format!("no answer from the SMTP server within {} s", SEND_TIMEOUT.as_secs()), unreachable: true })
            }
        }
    }
}

/// Why a mail was not sent.
struct Failure {
    error: String,
    /// The server could not be reached or did not answer: the rest of the round would fare no
    /// better.
    unreachable: bool,
}

/// Leases due mail, sends it and records each outcome; returns how many were sent. Errors are
/// logged, never returned: the next round tries again.
pub async fn deliver_once(store: &dyn Store, mailer: &Mailer, now: Timestamp) -> usize {
    let owner = mailer.owner();
    let started = Instant::now();
    let at = || now.saturating_add(SignedDuration::try_from(started.elapsed()).unwrap_or(LEASE)).unwrap_or(now);
    let mails = match store.lease_mail(owner, now, now + LEASE, BATCH).await {
        Ok(mails) => mails,
        Err(e) => {
            tracing::warn!(error = %e, "cannot lease mail from the outbox");
            return 0;
        }
    };
    let mut sent = 0;
    for (i, mail) in mails.iter().enumerate() {
        if started.elapsed() > LAST_START {
            // The rest go back to the outbox when the lease lapses.
            tracing::info!(left = mails.len() - i, "mail lease nearly over; leaving the rest for the next round");
            break;
        }
        match mailer.send(mail).await {
            Ok(()) => {
                sent += 1;
                if let Err(e) = store.mail_sent(mail.id, owner, at()).await {
                    tracing::warn!(mail = %mail.id, error = %e, "mail sent but not recorded as sent; it may be sent again");
                }
            }
            Err(Failure { error, unreachable }) => {
                let retry_at = at() + retry_delay(mail.attempts);
                tracing::warn!(mail = %mail.id, attempts = mail.attempts, %retry_at, error, "cannot send mail");
                if let Err(e) = store.mail_failed(mail.id, owner, &error, retry_at).await {
                    tracing::warn!(mail = %mail.id, error = %e, "cannot record a failed mail; it is tried again when its lease lapses");
                }
                if unreachable {
                    // Not worth a connection per mail (or a timeout each): the rest of the batch
                    // goes back to the outbox when the lease lapses, attempts uncounted.
                    break;
                }
            }
        }
    }
    if sent > 0 {
        tracing::info!(sent, "mail sent");
    }
    sent
}

/// What runs beside the web server.
pub struct BackgroundConfig {
    /// Time between escalation sweeps; `None` turns them off.
    pub sweep_every: Option<Duration>,
    /// Sends the outbox when present; without it mail waits in the database.
    pub mailer: Option<Mailer>,
}

/// The running background tasks; [`Background::stop`] ends them.
pub struct Background {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Background {
    /// Asks the tasks to stop and waits for work under way (a sweep, a send) to finish, a little
    /// while at most.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for mut task in self.tasks {
            if tokio::time::timeout(GRACE, &mut task).await.is_err() {
                tracing::warn!("background task still busy after {} s; stopped", GRACE.as_secs());
                task.abort();
            }
        }
    }
}

/// Starts the sweep and mail tasks the configuration asks for.
pub fn spawn_background(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: BackgroundConfig) -> Background {
    let (stop, stopped) = watch::channel(false);
    let kick = Arc::new(Notify::new());
    let mut tasks = Vec::new();
    if let Some(every) = config.sweep_every {
        let kick = config.mailer.is_some().then(|| kick.clone());
        tasks.push(tokio::spawn(sweep_loop(store.clone(), clock.clone(), every, kick, stopped.clone())));
    }
    if let Some(mailer) = config.mailer {
        tracing::info!(owner = mailer.owner(), from = %mailer.from, "e-mail delivery on");
        tasks.push(tokio::spawn(mail_loop(store, clock, mailer, kick, stopped)));
    }
    Background { stop, tasks }
}

async fn sweep_loop(
    store: Arc<dyn Store>, clock: Arc<dyn Clock>, every: Duration, kick: Option<Arc<Notify>>, mut stop: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.changed() => return,
        }
        match store.sweep(clock.now()).await {
            Ok(report) if report != SweepReport::default() => {
                tracing::info!(escalated = report.escalated, reminded = report.reminded, "escalation sweep");
                if let Some(kick) = &kick {
                    // The sweep wrote mail: send it now rather than at the next round.
                    kick.notify_one();
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "escalation sweep failed; trying again in {} s", every.as_secs()),
        }
    }
}

async fn mail_loop(store: Arc<dyn Store>, clock: Arc<dyn Clock>, mailer: Mailer, kick: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    loop {
        let sent = deliver_once(store.as_ref(), &mailer, clock.now()).await;
        if *stop.borrow() {
            return;
        }
        if sent >= BATCH as usize {
            // More may be waiting.
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(MAIL_EVERY) => {}
            _ = kick.notified() => {}
            _ = stop.changed() => return,
        }
    }
}

/// `HOSTNAME-PID-RANDOM`: unique to this process, and says which machine holds a lease.
fn owner_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "accord".to_owned());
    let mut random = [0u8; 4];
    // Pid and host alone repeat after a restart in a container; a lease from before must not count as ours.
    let _ = getrandom::fill(&mut random);
    format!("{host}-{}-{:08x}", std::process::id(), u32::from_le_bytes(random))
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
            match rest[..authority_end].rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://…@{host}{}", &rest[authority_end..]),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_from_30_seconds_doubling_to_an_hour() {
        let secs: Vec<i64> = (0..10).map(|a| retry_delay(a).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(retry_delay(-1).as_secs(), 30);
        assert_eq!(retry_delay(i32::MAX).as_secs(), 3600);
    }

    #[test]
    fn a_lease_outlasts_every_send_started_in_it() {
        assert!(LAST_START + SEND_TIMEOUT < Duration::from_secs(LEASE.as_secs() as u64));
    }

    #[test]
    fn urls_lose_their_password_in_messages() {
        assert_eq!(redact("smtps://ann:secret@mail.example:465"), "smtps://…@mail.example:465");
        assert_eq!(redact("smtp://ann:p@ss@mail.example?tls=required"), "smtp://…@mail.example?tls=required");
        assert_eq!(redact("smtp://127.0.0.1:2525"), "smtp://127.0.0.1:2525");
    }

    #[tokio::test]
    async fn mailers_take_the_three_kinds_of_url_and_refuse_others() {
        for url in ["smtp://127.0.0.1:2525", "smtps://u:p@mail.example:465", "smtp://u:p@mail.example:587?tls=required"] {
            Mailer::new(url, "Accord <accord@localhost>").unwrap();
        }
        let err = Mailer::new("http://u:secret@mail.example", "Accord <accord@localhost>").err().unwrap().to_string();
        assert!(err.starts_with("--smtp-url: http://…@mail.example") && !err.contains("secret"), "{err}");
        assert!(Mailer::new("smtp://127.0.0.1:2525", "not an address").is_err());
        let a = Mailer::new("smtp://127.0.0.1:2525", "accord@localhost").unwrap();
        let b = Mailer::new("smtp://127.0.0.1:2525", "accord@localhost").unwrap();
        assert_ne!(a.owner(), b.owner());
    }

    #[tokio::test]
    async fn links_in_mail_point_at_the_site() {
        let mailer = Mailer::new("smtp://127.0.0.1:2525", "accord@localhost").unwrap().with_site("https://accord.example/");
        let mut mail = OutboxMail {
            id: uuid::Uuid::nil(),
            to: "ann@example.org".into(),
            subject: "Issue #1 escalated".into(),
            body: "Issue #1 is now with the Joint Management Team.\n".into(),
            link: "/relationships/r/issues/i".into(),
            attempts: 0,
        };
        assert_eq!(
            mailer.text(&mail),
            "Issue #1 is now with the Joint Management Team.\n\nhttps://accord.example/relationships/r/issues/i\n"
        );
        mail.link.clear();
        assert_eq!(mailer.text(&mail), "Issue #1 is now with the Joint Management Team.\n");
    }
}
