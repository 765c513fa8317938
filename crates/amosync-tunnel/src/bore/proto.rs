//! The bore wire protocol, client side: null-delimited JSON frames and the
//! HMAC challenge answer (compatible with `bore-cli` 0.6).

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest frame bore accepts.
const MAX_FRAME_LENGTH: usize = 256;

/// A message from the client on a control connection.
#[derive(Debug, Serialize)]
pub(crate) enum ClientMessage {
    /// Answer to a `Challenge`.
    Authenticate(String),
    /// Asks for a public port (0 = any).
    Hello(u16),
    /// Turns this connection into the proxy for the given incoming connection id.
    Accept(String),
}

/// A message from the server on a control connection.
#[derive(Debug, Deserialize)]
pub(crate) enum ServerMessage {
    /// Authentication challenge (a UUID), first message when the server has a secret.
    Challenge(String),
    /// The public port granted.
    Hello(u16),
    /// Keep-alive, sent about every 500 ms.
    Heartbeat,
    /// A visitor connected to the public port; accept it with this id.
    Connection(String),
    /// A server error that ends the connection.
    Error(String),
}

/// A TCP stream carrying null-delimited JSON frames.
pub(crate) struct Framed {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Framed {
    pub(crate) fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends one frame.
    pub(crate) async fn send(&mut self, msg: &ClientMessage) -> std::io::Result<()> {
        let mut bytes = serde_json::to_vec(msg).map_err(std::io::Error::other)?;
        bytes.push(0);
        self.stream.write_all(&bytes).await
    }

    /// Reads the next frame; `Ok(None)` at a clean end of stream.
    pub(crate) async fn recv(&mut self) -> std::io::Result<Option<ServerMessage>> {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == 0) {
                let frame: Vec<u8> = self.buf.drain(..=pos).collect();
                let msg = serde_json::from_slice(&frame[..pos]).map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("not a bore message ({e}); is this a bore server?"),
                    )
                })?;
                return Ok(Some(msg));
            }
            if self.buf.len() > MAX_FRAME_LENGTH {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "frame too long; is this a bore server?",
                ));
            }
            let mut chunk = [0u8; 512];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(std::io::ErrorKind::UnexpectedEof.into())
                };
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// The stream and any bytes already read past the last frame.
    pub(crate) fn into_parts(self) -> (TcpStream, Vec<u8>) {
        (self.stream, self.buf)
    }
}

/// The answer to a challenge: hex HMAC-SHA256, keyed with SHA-256 of the
/// secret, over the challenge UUID's 16 bytes. `None` if the challenge is not a UUID.
pub(crate) fn answer(secret: &str, challenge: &str) -> Option<String> {
    let hex_digits: String = challenge.chars().filter(|c| *c != '-').collect();
    let bytes = hex::decode(hex_digits).ok()?;
    if bytes.len() != 16 {
        return None;
    }
    let key = Sha256::new().chain_update(secret).finalize();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(&bytes);
    Some(hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_matches_bore_cli() {
        let challenge = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        let ours = answer("s3cret", challenge).unwrap();
        let uuid: uuid::Uuid = challenge.parse().unwrap();
        let theirs = bore_cli::auth::Authenticator::new("s3cret").answer(&uuid);
        assert_eq!(ours, theirs);
        assert!(bore_cli::auth::Authenticator::new("s3cret").validate(&uuid, &ours));
        assert!(!bore_cli::auth::Authenticator::new("other").validate(&uuid, &ours));
        assert_eq!(answer("s3cret", "not-a-uuid"), None);
    }

    #[test]
    fn messages_use_bore_json() {
        assert_eq!(
            serde_json::to_string(&ClientMessage::Hello(0)).unwrap(),
            r#"{"Hello":0}"#
        );
        assert_eq!(
            serde_json::to_string(&ClientMessage::Accept("abc".into())).unwrap(),
            r#"{"Accept":"abc"}"#
        );
        assert!(matches!(
            serde_json::from_str::<ServerMessage>(r#""Heartbeat""#).unwrap(),
            ServerMessage::Heartbeat
        ));
        assert!(matches!(
            serde_json::from_str::<ServerMessage>(r#"{"Hello":4242}"#).unwrap(),
            ServerMessage::Hello(4242)
        ));
    }
}
