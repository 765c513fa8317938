//! SIGINT/SIGTERM for the long-running commands (`serve`, `demo`).
//!
//! The handlers are installed by [`Shutdown::signals`], which the command
//! calls before it does anything else — certainly before it prints `ready`:
//! until a handler is installed, SIGTERM kills the process on the spot
//! (exit 143, `serve.json` left behind).

use crate::{AppError, ErrorCode};

/// Which signal asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Interrupt,
    Terminate,
}

impl Stop {
    pub fn name(self) -> &'static str {
        match self {
            Stop::Interrupt => "SIGINT",
            Stop::Terminate => "SIGTERM",
        }
    }
}

/// The exit code after a second signal cut a shutdown short.
pub const FORCED_EXIT: i32 = 130;

/// Stop requests, recorded from the moment [`Shutdown::signals`] returns.
pub struct Shutdown {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(windows)]
    ctrl_c: tokio::signal::windows::CtrlC,
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
                interrupt: signal(SignalKind::interrupt()).map_err(cannot)?,
                terminate: signal(SignalKind::terminate()).map_err(cannot)?,
            })
        }
        #[cfg(windows)]
        {
            Ok(Shutdown {
                ctrl_c: tokio::signal::windows::ctrl_c().map_err(cannot)?,
            })
        }
    }

    /// The next stop request (one that came before this call included).
    pub async fn requested(&mut self) -> Stop {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => Stop::Interrupt,
                _ = self.terminate.recv() => Stop::Terminate,
            }
        }
        #[cfg(windows)]
        {
            let _ = self.ctrl_c.recv().await;
            Stop::Interrupt
        }
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
