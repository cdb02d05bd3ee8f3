//! Progress on standard error.

use super::*;

/// `[#####.....] 45% 22,500/50,000 steps  0:42` on standard error, redrawn ten times a second
/// while the work runs (only on a terminal; elsewhere one line at the end).
pub(super) struct Bar {
    stop: Arc<AtomicBool>,
    drawer: Option<std::thread::JoinHandle<()>>,
    done: Arc<AtomicU64>,
    what: &'static str,
    started: Instant,
}

impl Bar {
    const WIDTH: u64 = 30;

    /// Draws from a thread of its own, so that it keeps drawing while the caller blocks.
    pub(super) fn start(what: &'static str, total: u64, done: Arc<AtomicU64>) -> Bar {
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let drawer = std::io::stderr().is_terminal().then(|| {
            let (stop, done) = (stop.clone(), done.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let n = done.load(Ordering::Relaxed).min(total);
                    let filled = n * Self::WIDTH / total.max(1);
                    let secs = started.elapsed().as_secs();
                    eprint!(
                        "\r[{}{}] {:>3}% {}/{} {what}  {}:{:02}   ",
                        "#".repeat(filled as usize),
                        ".".repeat((Self::WIDTH - filled) as usize),
                        n * 100 / total.max(1),
                        thousands(n as usize),
                        thousands(total as usize),
                        secs / 60,
                        secs % 60
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        });
        Bar { stop, drawer, done, what, started }
    }

    pub(super) fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(drawer) = self.drawer.take() {
            let _ = drawer.join();
            eprint!("\r{}\r", " ".repeat(Self::WIDTH as usize + 60));
        }
        let n = self.done.load(Ordering::Relaxed);
        eprintln!("{} {} in {:.1} s", thousands(n as usize), self.what, self.started.elapsed().as_secs_f64());
    }
}
