//! SIGINT/SIGTERM for the long-running commands (`serve`, `demo`), or a
//! programmatic stop when they run inside the desktop app.
//!
//! The handlers are installed by [`Shutdown::signals`], which the command
//! calls before it does anything else — certainly before it prints `ready`:
//! until a handler is installed, SIGTERM kills the process on the spot
//! (exit 143, `serve.json` left behind).
//!
//! [`Shutdown::manual`] is the in-process variant: the stop comes from a
//! [`ShutdownTrigger`] (or from dropping it). It asks once — there is no
//! "second signal" that would end the host process — and it marks the run
//! as embedded: `serve` and `demo` print nothing on stdout (their lines carry
//! the webhook URL's secret; a desktop app's stdout may end up in a log).

use crate::{AppError, ErrorCode};

/// Which signal asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Interrupt,
    Terminate,
    /// [`ShutdownTrigger::stop`] (or the trigger was dropped).
    Requested,
}

impl Stop {
    pub fn name(self) -> &'static str {
        match self {
            Stop::Interrupt => "SIGINT",
            Stop::Terminate => "SIGTERM",
            Stop::Requested => "stop request",
        }
    }
}

/// The exit code after a second signal cut a shutdown short.
pub const FORCED_EXIT: i32 = 130;

/// Stop requests, recorded from the moment [`Shutdown::signals`] (or
/// [`Shutdown::manual`]) returns.
pub struct Shutdown {
    source: Source,
}

enum Source {
    Signals {
        #[cfg(unix)]
        interrupt: tokio::signal::unix::Signal,
        #[cfg(unix)]
        terminate: tokio::signal::unix::Signal,
        #[cfg(windows)]
        ctrl_c: tokio::signal::windows::CtrlC,
    },
    Manual {
        requested: tokio::sync::watch::Receiver<bool>,
        /// The one request was handed out: later calls wait forever.
        taken: bool,
    },
}

/// Asks a [`Shutdown::manual`] run to stop. Dropping it asks too.
#[derive(Debug)]
pub struct ShutdownTrigger {
    tx: tokio::sync::watch::Sender<bool>,
}

impl ShutdownTrigger {
    /// Asks to stop (idempotent).
    pub fn stop(&self) {
        self.tx.send_replace(true);
    }
}

impl std::fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shutdown")
    }
}

fn cannot(e: std::io::Error) -> AppError {
    AppError::new(
        ErrorCode::Local,
        format!("cannot install the SIGINT/SIGTERM handlers ({e})"),
    )
}

impl Shutdown {
    /// Installs the handlers now (inside a Tokio runtime). From here on
    /// SIGINT/SIGTERM are stop requests, kept until [`Shutdown::requested`]
    /// takes them.
    pub fn signals() -> Result<Shutdown, AppError> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Shutdown {
                source: Source::Signals {
                    interrupt: signal(SignalKind::interrupt()).map_err(cannot)?,
                    terminate: signal(SignalKind::terminate()).map_err(cannot)?,
                },
            })
        }
        #[cfg(windows)]
        {
            Ok(Shutdown {
                source: Source::Signals {
                    ctrl_c: tokio::signal::windows::ctrl_c().map_err(cannot)?,
                },
            })
        }
    }

    /// A stop asked for by the returned trigger, not by signals (the
    /// desktop app runs `serve` / `demo` in process this way).
    pub fn manual() -> (Shutdown, ShutdownTrigger) {
        let (tx, requested) = tokio::sync::watch::channel(false);
        (
            Shutdown {
                source: Source::Manual {
                    requested,
                    taken: false,
                },
            },
            ShutdownTrigger { tx },
        )
    }

    /// True for [`Shutdown::manual`]: the run is embedded in another
    /// program (print nothing on stdout; never end the process).
    pub fn is_manual(&self) -> bool {
        matches!(self.source, Source::Manual { .. })
    }

    /// The next stop request (one that came before this call included).
    /// Cancel-safe: a call dropped before it returned loses nothing.
    pub async fn requested(&mut self) -> Stop {
        match &mut self.source {
            Source::Manual { requested, taken } => {
                if *taken {
                    // One request per manual shutdown: no "second signal".
                    return std::future::pending().await;
                }
                // An error means the trigger was dropped: that asks too.
                let _ = requested.wait_for(|stop| *stop).await;
                *taken = true;
                Stop::Requested
            }
            #[cfg(unix)]
            Source::Signals {
                interrupt,
                terminate,
            } => {
                tokio::select! {
                    _ = interrupt.recv() => Stop::Interrupt,
                    _ = terminate.recv() => Stop::Terminate,
                }
            }
            #[cfg(windows)]
            Source::Signals { ctrl_c } => {
                let _ = ctrl_c.recv().await;
                Stop::Interrupt
            }
        }
    }
}

#[cfg(test)]
mod manual_tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_manual_stop_is_asked_once() {
        let (mut shutdown, trigger) = Shutdown::manual();
        assert!(shutdown.is_manual());
        // Not yet: a wait that is given up loses nothing.
        let early = tokio::time::timeout(Duration::from_millis(20), shutdown.requested()).await;
        assert!(early.is_err());
        trigger.stop();
        trigger.stop();
        let stop = tokio::time::timeout(Duration::from_secs(10), shutdown.requested())
            .await
            .expect("the request is delivered");
        assert_eq!(stop, Stop::Requested);
        // No second request, ever (it would end the process in `serve`).
        let again = tokio::time::timeout(Duration::from_millis(20), shutdown.requested()).await;
        assert!(again.is_err());
    }

    #[tokio::test]
    async fn dropping_the_trigger_asks_to_stop() {
        let (mut shutdown, trigger) = Shutdown::manual();
        drop(trigger);
        let stop = tokio::time::timeout(Duration::from_secs(10), shutdown.requested())
            .await
            .expect("the request is delivered");
        assert_eq!(stop, Stop::Requested);
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_signal_sent_before_anyone_waits_is_kept() {
        let mut shutdown = Shutdown::signals().unwrap();
        // SAFETY: raise(3) on this process; the handler above is installed.
        assert_eq!(unsafe { libc::raise(libc::SIGTERM) }, 0);
        let stop = tokio::time::timeout(Duration::from_secs(10), shutdown.requested())
            .await
            .expect("the signal is delivered");
        assert_eq!(stop, Stop::Terminate);
        assert_eq!(stop.name(), "SIGTERM");
    }
}
