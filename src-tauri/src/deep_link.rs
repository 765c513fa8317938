//! `amosync://` links: the OAuth callback that brings the admin back from
//! amoCRM's approval page (directly, or through the bounce page). A second
//! launch with the link as its argument hands it to the running instance
//! (single-instance plugin); a cold start by the link gets it here too.
//! The link goes to the session's `setup_finish`, which connects and tells
//! the window (`amosync://connected` / `amosync://connect-failed`).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tauri::{App, AppHandle, Manager};
use tauri_plugin_deep_link::DeepLinkExt;

use crate::session::Session;

/// Registers the scheme (Linux/Windows, for runs outside an installed
/// package; `AMOSYNC_NO_SCHEME_REGISTER=1` skips it) and handles links.
pub fn setup(app: &App) {
    #[cfg(any(target_os = "linux", windows))]
    if std::env::var_os("AMOSYNC_NO_SCHEME_REGISTER").is_none()
        && let Err(e) = app.deep_link().register_all()
    {
        tracing::warn!(error = %e, "could not register the amosync:// scheme; links from the browser may not open the app");
    }
    let seen: Arc<Mutex<HashSet<String>>> = Arc::default();
    let handle = app.handle().clone();
    let on_url = {
        let seen = seen.clone();
        move |handle: &AppHandle, url: String| {
            // The same link may come twice (the launch arguments and the
            // event, or a second click): its code is exchanged once. A link
            // that failed is forgotten, so a click after the failure retries.
            if let Ok(mut seen) = seen.lock()
                && !seen.insert(url.clone())
            {
                return;
            }
            let handle = handle.clone();
            let seen = seen.clone();
            tauri::async_runtime::spawn(async move {
                if !open(handle, url.clone()).await
                    && let Ok(mut seen) = seen.lock()
                {
                    seen.remove(&url);
                }
            });
        }
    };
    {
        let on_url = on_url.clone();
        app.deep_link().on_open_url(move |event| {
            for url in event.urls() {
                on_url(&handle, url.to_string());
            }
        });
    }
    // A cold start by the link: the plugin read it from the arguments
    // before this handler existed.
    if let Ok(Some(urls)) = app.deep_link().get_current() {
        for url in urls {
            on_url(app.handle(), url.to_string());
        }
    }
    tracing::info!("ready for amosync:// links");
}

/// Hands the link to the session; true when it connected.
async fn open(app: AppHandle, url: String) -> bool {
    crate::show_window(&app);
    let Some(session) = app.try_state::<Session>() else {
        return false;
    };
    // A cold start by the link: the session may still be starting.
    let outcome = match session.desktop().await {
        Ok(desktop) => desktop.setup_finish(url).await,
        Err(e) => Err(e),
    };
    // The session emitted connected / connect-failed to the window itself.
    match outcome {
        Ok(()) => {
            tracing::info!("amoCRM connected through the amosync:// link");
            true
        }
        Err(e) => {
            tracing::warn!(code = ?e.code, "the amosync:// link could not be used: {e}");
            false
        }
    }
}
