//! The command line. Every command names its database with `--database URL` (or DATABASE_URL);
//! without either it is the SQLite file `./accord.db`.

use crate::import::ImportCommand;
use crate::worker::{self, BackgroundConfig, Mailer};
use crate::{demo, import, open_store_for};
use accord_domain::Invalid;
use accord_domain::audit::{ChainBreak, ChainHead, ChainVerifier, claim_line};
use accord_domain::clock::{Clock, SystemClock};
use accord_domain::membership::Role;
use accord_domain::relationship::{NewRelationship, RelationshipInput};
use accord_domain::text::{Email, Name};
use accord_store::{NewUser, PageRequest, SITE_CHAIN, Store, StoreError};
use accord_store_sqlite::Workload;
use accord_web::{AppState, secrets};
use anyhow::{Context, anyhow};
use clap::{Args, Parser, Subcommand};
use std::io::{BufRead, BufWriter, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "accord",
    version,
    about = "Accord: the joint team site of a collaborative business relationship (ISO 44001).",
    long_about = "Accord: the joint team site of a collaborative business relationship (ISO 44001).\n\nStart with `accord serve --demo` and open the address it prints."
)]
struct Cli {
    /// The database: `sqlite://PATH` (created if missing) or `postgres://USER@HOST/DB`.
    #[arg(long, global = true, env = "DATABASE_URL", default_value = "sqlite://accord.db")]
    database: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the site and the API (runs migrations first).
    Serve(Serve),
    /// Bring the database schema up to date.
    Migrate,
    /// Accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Organisations (the parties of relationships).
    #[command(subcommand)]
    Org(OrgCommand),
    /// Relationships.
    #[command(subcommand)]
    Relationship(RelationshipCommand),
    /// Members of relationships.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Personal API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check and export the hash-chained audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Load data from spreadsheets.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Fill an empty database with years of realistic data at scale (for scripts/bench).
    Seed(crate::seed::SeedArgs),
}

#[derive(Args)]
struct Serve {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// On an empty database, create a demo relationship with realistic data and print how to sign in.
    #[arg(long)]
    demo: bool,
    /// How people reach the site (for links in invitations); with https, cookies get `Secure`
    /// and the `__Host-` prefix. Default: http://ADDR.
    #[arg(long, env = "ACCORD_PUBLIC_URL")]
    public_url: Option<String>,
    /// Seconds between escalation sweeps (overdue issues move up the ladder, reminders go out);
    /// 0 turns them off on this server; at most a week.
    #[arg(long, env = "ACCORD_SWEEP_INTERVAL", default_value_t = 60, value_name = "SECONDS")]
    #[arg(value_parser = clap::value_parser!(u64).range(..=604_800))]
    sweep_interval: u64,
    /// Send the e-mail outbox through this SMTP server: `smtp://HOST:PORT` (plain),
    /// `smtp://USER:PASS@HOST:587?tls=required` (STARTTLS) or `smtps://USER:PASS@HOST:465` (TLS).
    /// Without it, mail waits in the database.
    #[arg(long, env = "ACCORD_SMTP_URL", value_name = "URL")]
    smtp_url: Option<String>,
    /// The sender of Accord's e-mail.
    #[arg(long, env = "ACCORD_MAIL_FROM", default_value = "Accord <accord@localhost>", value_name = "ADDRESS")]
    mail_from: String,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// The person's organisation, by name or id; a site administrator may belong to none.
        #[arg(long, required_unless_present = "admin")]
        org: Option<String>,
        /// Make the account a site administrator.
        #[arg(long)]
        admin: bool,
    },
    /// One line per account, `EMAIL<TAB>ORGANISATION` (empty for none), in creation order.
    List,
    /// Print a single-use link (valid 7 days) with which the person sets a new password.
    ResetLink {
        #[arg(long)]
        email: String,
        /// The site's address as people reach it.
        #[arg(long, env = "ACCORD_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
        public_url: String,
    },
    /// Disable an account: its sessions end and its tokens stop working at once.
    Disable {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create an organisation.
    Create {
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum RelationshipCommand {
    /// Create a relationship between two or more organisations.
    Create {
        #[arg(long)]
        name: String,
        /// An organisation taking part, by name or id; give two or more.
        #[arg(long = "party", required = true)]
        parties: Vec<String>,
        #[arg(long, default_value = "")]
        purpose: String,
        /// YYYY-MM-DD; today when left out.
        #[arg(long)]
        start_date: Option<String>,
        /// IANA time zone of the relationship's calendar.
        #[arg(long, default_value = "Europe/London")]
        time_zone: String,
    },
}

#[derive(Subcommand)]
enum MemberCommand {
    /// Give an account a role in a relationship, for the party of its organisation.
    Add {
        /// The relationship, by name or id.
        #[arg(long)]
        relationship: String,
        #[arg(long)]
        email: String,
        /// ser, jmt, contributor or observer.
        #[arg(long)]
        role: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a personal API token; the token is the last line printed (shown once, store it safely).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List a person's tokens (id, created, revoked), never the tokens themselves.
    List {
        #[arg(long)]
        email: String,
    },
    /// Revoke a token at once: requests carrying it answer 401 from then on.
    Revoke {
        #[arg(long)]
        email: String,
        /// The token's id, as printed by `token create` and `token list`.
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the hash chains and name the first broken link (exit code 1 when broken).
    Verify {
        /// Only this relationship (name or id); all chains when left out.
        #[arg(long, conflicts_with = "file")]
        relationship: Option<String>,
        /// Verify an export (JSON Lines) offline, without the database.
        #[arg(long)]
        file: Option<PathBuf>,
        /// POSITION:HASH of an event seen earlier (e.g. the chain head shown on the relationship
        /// page); fails unless the export still holds exactly that event. Repeatable.
        #[arg(long, requires = "file")]
        witness: Vec<String>,
    },
    /// Write a relationship's chain as JSON Lines (format in the README).
    Export {
        #[arg(long)]
        relationship: String,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs the command line; errors are printed as `error: ...` with exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("ACCORD_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    if let Command::Audit(AuditCommand::Verify { file: Some(file), witness, .. }) = &cli.command {
        return verify_file(file, witness);
    }
    if let Command::Seed(args) = &cli.command
        && args.offline()
    {
        return crate::seed::run_offline(args);
    }
    let workload = match &cli.command {
        // Timing the sweep measures the server's own settings.
        Command::Seed(args) if args.time_sweep => Workload::Serve,
        Command::Seed(_) => Workload::Fill,
        Command::Import(_) => Workload::Batch,
        _ => Workload::Serve,
    };
    let store = open_store_for(&cli.database, workload).await.with_context(|| format!("cannot open the database {}", cli.database))?;
    for trigger in store.migrate().await? {
        tracing::warn!(
            trigger,
            "the audit trail's append-only trigger {trigger} was missing, disabled or changed: a sign that someone tampered with the \
             database. It is restored; run `accord audit verify` and compare each chain's head with the one its parties noted"
        );
    }
    let now = clock.now();
    match cli.command {
        Command::Serve(args) => return serve(store, clock, args).await,
        Command::Migrate => println!("database is up to date ({})", store.backend()),
        Command::User(UserCommand::Create { email, name, org, admin }) => {
            let mut invalid = Invalid::default();
            let email = invalid.check("--email", Email::parse(&email));
            let name = invalid.check("--name", Name::parse(&name));
            invalid.finish().map_err(|e| anyhow!("{e}"))?;
            let organisation = match &org {
                Some(org) => Some(store.find_organisation(org).await.map_err(|e| not_found(e, "--org", org))?.id),
                None => None,
            };
            let password = read_password()?;
            let password_hash = tokio::task::spawn_blocking(move || secrets::hash_password(&password)).await?.map_err(|e| anyhow!(e))?;
            let user = NewUser {
                email: email.unwrap(),
                name: name.unwrap(),
                organisation_id: organisation,
                is_admin: admin,
                password_hash: Some(password_hash),
            };
            let user = store.create_user(user, None, now).await.map_err(cli_error)?;
            match &user.organisation_name {
                Some(organisation) => println!("created user {} ({}) in {organisation}", user.email, user.id),
                None => println!("created user {} ({}), a site administrator of no organisation", user.email, user.id),
            }
        }
        Command::User(UserCommand::List) => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            let mut page = PageRequest::first(PageRequest::MAX);
            loop {
                let users = store.list_users(page).await?;
                for u in &users.items {
                    writeln!(out, "{}\t{}", u.email, u.organisation_name.as_deref().unwrap_or(""))?;
                }
                match users.next_cursor {
                    Some(after) => page.after = Some(after),
                    None => break,
                }
            }
            out.flush()?;
        }
        Command::User(UserCommand::ResetLink { email, public_url }) => {
            let user = user_by_email(store.as_ref(), &email).await?;
            let (token, hash) = secrets::new_token();
            store.create_password_reset(user.id, &hash, now + accord_web::pages::RESET_VALID, None, now).await?;
            println!("{}/reset/{token}", public_url.trim_end_matches('/'));
        }
        Command::User(UserCommand::Disable { email }) => {
            let user = user_by_email(store.as_ref(), &email).await?;
            store.set_user_disabled(user.id, true, None, now).await?;
            println!("disabled {}", user.email);
        }
        Command::Org(OrgCommand::Create { name }) => {
            let name = Name::parse(&name).map_err(|m| anyhow!("--name: {m}"))?;
            let org = store.create_organisation(name, None, now).await.map_err(cli_error)?;
            println!("created organisation {} ({})", org.name, org.id);
        }
        Command::Relationship(RelationshipCommand::Create { name, parties, purpose, start_date, time_zone }) => {
            let mut ids = Vec::new();
            for party in &parties {
                ids.push(store.find_organisation(party).await.map_err(|e| not_found(e, "--party", party))?.id);
            }
            let today = now.to_zoned(jiff::tz::TimeZone::UTC).date().to_string();
            let input = RelationshipInput {
                name: &name,
                purpose: &purpose,
                start_date: start_date.as_deref().unwrap_or(&today),
                time_zone: &time_zone,
            };
            let new = NewRelationship::parse(input, Some(ids), Invalid::default()).map_err(|e| anyhow!("{}", flags(e)))?;
            let r = store.create_relationship(new, None, now).await.map_err(cli_error)?;
            println!("created relationship {} ({})", r.name, r.id);
        }
        Command::Member(MemberCommand::Add { relationship, email, role }) => {
            let role = Role::parse(&role).map_err(|m| anyhow!("--role: {m}"))?;
            let email = Email::parse(&email).map_err(|m| anyhow!("--email: {m}"))?;
            let r = store.find_relationship(&relationship).await.map_err(|e| not_found(e, "--relationship", &relationship))?;
            let user = store.user_by_email(&email).await.map_err(|e| not_found(e, "--email", email.as_str()))?;
            let m = store.add_member(r.id, user.id, role, None, now).await.map_err(cli_error)?;
            println!("{} is now {} in {} for {}", m.email, m.role.label(), r.name, m.organisation_name);
        }
        Command::Token(TokenCommand::Create { email, name }) => {
            let email = Email::parse(&email).map_err(|m| anyhow!("--email: {m}"))?;
            let name = Name::parse(&name).map_err(|m| anyhow!("--name: {m}"))?;
            let user = store.user_by_email(&email).await.map_err(|e| not_found(e, "--email", email.as_str()))?;
            let (token, hash) = secrets::new_token();
            let t = store.create_token(user.id, name, &hash, now).await.map_err(cli_error)?;
            println!("created API token {} for {}; it is shown once:", t.id, user.email);
            println!("{token}");
        }
        Command::Token(TokenCommand::List { email }) => {
            let user = user_by_email(store.as_ref(), &email).await?;
            for t in store.list_tokens(user.id).await? {
                let state = t.revoked_at.map_or("live".to_owned(), |at| format!("revoked {at}"));
                println!("{}\t{}\t{}\t{state}", t.id, t.name, t.created_at);
            }
        }
        Command::Token(TokenCommand::Revoke { email, id }) => {
            let user = user_by_email(store.as_ref(), &email).await?;
            let token_id = accord_domain::id::parse_id(&id).ok_or_else(|| anyhow!("--id: {id:?} is not a token id"))?;
            store.revoke_token(user.id, token_id, now).await.map_err(|e| not_found(e, "--id", &id))?;
            println!("revoked token {token_id} of {}", user.email);
        }
        Command::Import(command) => return import::run(store.as_ref(), command, now).await,
        Command::Seed(args) => return crate::seed::run(store, args, now).await,
        Command::Audit(AuditCommand::Verify { relationship, .. }) => {
            return verify_store(store.as_ref(), relationship.as_deref()).await;
        }
        Command::Audit(AuditCommand::Export { relationship, out }) => {
            let r = store.find_relationship(&relationship).await.map_err(|e| not_found(e, "--relationship", &relationship))?;
            let count = match &out {
                Some(path) => {
                    let file = std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
                    export(store.as_ref(), r.id, BufWriter::new(file)).await?
                }
                None => export(store.as_ref(), r.id, BufWriter::new(std::io::stdout().lock())).await?,
            };
            if let Some(path) = out {
                eprintln!("wrote {} events of {} to {}", count.0, r.name, path.display());
            }
            if let Some(head) = count.1 {
                eprintln!("chain head {head}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Names the flag when a look-up by name or id finds nothing.
fn not_found(e: StoreError, flag: &str, value: &str) -> anyhow::Error {
    match e {
        StoreError::NotFound(what) => anyhow!("{flag}: no {what} has the name or id {value:?}"),
        e => e.into(),
    }
}

/// Names the command-line flag behind each refused field.
async fn user_by_email(store: &dyn Store, email: &str) -> anyhow::Result<accord_store::User> {
    let email = Email::parse(email).map_err(|m| anyhow!("--email: {m}"))?;
    store.user_by_email(&email).await.map_err(|e| not_found(e, "--email", email.as_str()))
}

fn flags(invalid: Invalid) -> String {
    let flag = |field: &str| match field.split('[').next().unwrap_or(field) {
        "parties" => "--party".to_owned(),
        "user" => "--email".to_owned(),
        other => format!("--{}", other.replace('_', "-")),
    };
    invalid.0.iter().map(|f| format!("{}: {}", flag(&f.field), f.message)).collect::<Vec<_>>().join("; ")
}

fn cli_error(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::Invalid(invalid) => anyhow!("{}", flags(invalid)),
        e => e.into(),
    }
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    secrets::check_password(&password).map_err(|m| anyhow!("password (read from standard input) {m}"))?;
    Ok(password)
}

async fn serve(store: Arc<dyn Store>, clock: Arc<dyn Clock>, args: Serve) -> anyhow::Result<ExitCode> {
    // A bad mail setting stops the start, not the first delivery.
    let mailer = args.smtp_url.as_deref().map(|url| Mailer::new(url, &args.mail_from)).transpose()?;
    let seeded = if args.demo { demo::seed_if_empty(store.as_ref(), clock.as_ref()).await? } else { None };
    let listener = tokio::net::TcpListener::bind(args.addr).await.with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr()?;
    let public_url = args.public_url.unwrap_or_else(|| format!("http://{addr}"));
    let mailer = mailer.map(|m| m.with_site(&public_url));
    let sweep_every = (args.sweep_interval > 0).then(|| Duration::from_secs(args.sweep_interval));
    // On a site without an administrator, the address to open to make one (with `--addr`'s
    // port 0, the port actually bound).
    let setup = accord_web::people::open_setup(store.as_ref(), &public_url, clock.now()).await?;
    let background = worker::spawn_background(store.clone(), clock.clone(), BackgroundConfig { sweep_every, mailer });
    let state = AppState::new(store, clock, &public_url);
    state.ready.store(true, Ordering::Release);
    println!("Accord is serving http://{addr}");
    if let Some(login) = seeded {
        println!("Demo relationship created. Sign in as {} with the password {}", login.email, login.password);
        println!("(every demo account has that password; `accord user list` lists them)");
    }
    if let Some(link) = setup {
        println!("First run: open {link} to create the site administrator (the link works once)");
        tracing::info!(%link, "first run: no site administrator yet; open the setup link to create one");
    }
    let served = accord_web::serve(listener, accord_web::router(state)).await;
    background.stop().await;
    served?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the chain of `chain` as JSON Lines; returns the count and the head.
async fn export(store: &dyn Store, chain: uuid::Uuid, mut out: impl Write) -> anyhow::Result<(u64, Option<ChainHead>)> {
    let (mut after, mut count, mut head) = (0, 0, None);
    loop {
        let events = store.audit_events(chain, after, 10_000).await?;
        let Some(last) = events.last() else { break };
        after = last.position;
        head = Some(last.head());
        for e in &events {
            serde_json::to_writer(&mut out, e)?;
            out.write_all(b"\n")?;
        }
        count += events.len() as u64;
    }
    out.flush()?;
    Ok((count, head))
}

/// Verifies an exported chain: lines are read in large blocks and each block's lines are checked on
/// every core (an event's hash depends only on its own line), then linked in order on this thread.
fn verify_file(path: &PathBuf, witnesses: &[String]) -> anyhow::Result<ExitCode> {
    const BLOCK: usize = 8 << 20;
    let mut verifier = ChainVerifier::new();
    for w in witnesses {
        verifier.witness(ChainHead::parse(w).map_err(|m| anyhow!("--witness {w:?}: {m}"))?);
    }
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let broken = |line: usize, e: ChainBreak| {
        eprintln!("BROKEN: {}, line {line}: {e}", path.display());
        Ok(ExitCode::FAILURE)
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let (mut buffer, mut read_to, mut line_number, mut lines) = (vec![0u8; BLOCK], 0, 0, 0);
    loop {
        if read_to == buffer.len() {
            buffer.resize(buffer.len() * 2, 0);
        }
        let n = file.read(&mut buffer[read_to..]).with_context(|| format!("cannot read {}", path.display()))?;
        read_to += n;
        // Whole lines only; the rest waits for the next block (or is the last line at the end).
        let end = if n == 0 { read_to } else { memchr::memrchr(b'\n', &buffer[..read_to]).map_or(0, |i| i + 1) };
        if end == 0 && n > 0 {
            continue;
        }
        let mut block = Vec::new();
        // Lines found with memchr (a split byte by byte was an eighth of the time).
        let mut from = 0;
        for to in memchr::memchr_iter(b'\n', &buffer[..end]).chain(std::iter::once(end)) {
            let line = &buffer[from..to];
            from = to + 1;
            line_number += 1;
            if !line.trim_ascii().is_empty() {
                block.push((line_number, line));
            }
        }
        // The last "line" after a final newline is not one.
        line_number -= usize::from(end > 0 && buffer[end - 1] == b'\n');
        let per_thread = block.len().div_ceil(threads).max(1);
        let claims = std::thread::scope(|scope| {
            let workers: Vec<_> = block
                .chunks(per_thread)
                .map(|chunk| scope.spawn(move || chunk.iter().map(|(_, line)| claim_line(line)).collect::<Vec<_>>()))
                .collect();
            workers.into_iter().map(|w| w.join()).collect::<Result<Vec<_>, _>>()
        })
        .map_err(|_| anyhow!("a thread checking {} stopped", path.display()))?;
        for ((number, _), claim) in block.iter().zip(claims.into_iter().flatten()) {
            lines = *number;
            if let Err(e) = verifier.push_claim(claim) {
                return broken(*number, e);
            }
        }
        if n == 0 {
            break;
        }
        buffer.copy_within(end..read_to, 0);
        read_to -= end;
    }
    match verifier.finish() {
        Ok(head) => {
            let head = head.map_or("empty chain".into(), |h| format!("head {h}"));
            println!(
                "ok: {} holds an unbroken chain of {lines} events, {head}{}",
                path.display(),
                if witnesses.is_empty() { "" } else { ", witnesses found" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => broken(lines, e),
    }
}

async fn verify_store(store: &dyn Store, relationship: Option<&str>) -> anyhow::Result<ExitCode> {
    let chains = match relationship {
        Some(r) => vec![store.find_relationship(r).await.map_err(|e| not_found(e, "--relationship", r))?.id],
        None => store.audit_chains().await?,
    };
    let mut failed = false;
    for chain in chains {
        let label = if chain == SITE_CHAIN {
            "site".to_owned()
        } else {
            format!("relationship {}", store.relationship(chain).await.map(|r| r.name).unwrap_or_default())
        };
        let mut verifier = ChainVerifier::new();
        let mut after = 0;
        let result: Result<(), ChainBreak> = 'chain: loop {
            let events = store.audit_events(chain, after, 10_000).await?;
            let Some(last) = events.last() else {
                break Ok(());
            };
            after = last.position;
            for e in &events {
                if let Err(e) = verifier.push(e) {
                    break 'chain Err(e);
                }
            }
        };
        let stored_head = store.chain_head(chain).await?;
        match result.and_then(|_| verifier.finish()) {
            Ok(head) if head == stored_head => {
                let head = head.map_or("no events".into(), |h| format!("{} events, head {h}", h.position));
                println!("ok: {label} ({chain}): {head}");
            }
            Ok(head) => {
                failed = true;
                let show = |h: Option<ChainHead>| h.map_or("none (no events)".to_owned(), |h| h.to_string());
                bail_print(&label, chain, &format!("the recorded head {} is not the chain's last event {}", show(stored_head), show(head)));
            }
            Err(e) => {
                failed = true;
                bail_print(&label, chain, &e.to_string());
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn bail_print(label: &str, chain: uuid::Uuid, why: &str) {
    eprintln!("BROKEN: {label} ({chain}): {why}");
}
