//! Secrets at rest: XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`), random 192-bit nonces, the
//! row's identity as associated data (so a ciphertext cannot be moved to another mailbox or kind), and a
//! key id stored beside each ciphertext so keys can rotate: the first configured key seals, every
//! configured key opens.
//!
//! The same key material also derives (HKDF-SHA256, separate `info`) the HMAC key that signs our
//! session JWTs, so one configuration value covers both.

use std::fmt;

use base64::Engine;
use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit, Payload},
};
use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("SECRET_KEYS is malformed: {0}")]
    BadKeys(String),
    #[error("no configured key has id `{0}` (was it removed from SECRET_KEYS?)")]
    UnknownKey(String),
    #[error("a stored secret failed authentication (tampered, or sealed for another row)")]
    Tampered,
}

struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
    session_key: [u8; 32],
}

/// The configured keys. `Debug` prints only key ids.
pub struct Keyring {
    keys: Vec<Key>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|k| &k.id))
            .finish()
    }
}

/// A sealed secret as stored in the `secrets` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl Keyring {
    /// Parses `kid:base64(32 bytes)[,kid:base64…]`.
    pub fn parse(spec: &str) -> Result<Self, CryptoError> {
        let mut keys = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (id, b64) = part
                .split_once(':')
                .ok_or_else(|| CryptoError::BadKeys("each key must be `kid:base64`".into()))?;
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(CryptoError::BadKeys(format!(
                    "key id `{id}` must be [A-Za-z0-9_-]+"
                )));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| CryptoError::BadKeys(format!("key `{id}` is not base64")))?;
            if bytes.len() != 32 {
                return Err(CryptoError::BadKeys(format!(
                    "key `{id}` must be 32 bytes, got {}",
                    bytes.len()
                )));
            }
            if keys.iter().any(|k: &Key| k.id == id) {
                return Err(CryptoError::BadKeys(format!("key id `{id}` appears twice")));
            }
            let mut session_key = [0u8; 32];
            Hkdf::<Sha256>::new(None, &bytes)
                .expand(b"crm-outlook session jwt v1", &mut session_key)
                .expect("32 bytes is a valid HKDF output length");
            keys.push(Key {
                id: id.to_owned(),
                cipher: XChaCha20Poly1305::new_from_slice(&bytes).expect("32-byte key"),
                session_key,
            });
        }
        if keys.is_empty() {
            return Err(CryptoError::BadKeys("no keys given".into()));
        }
        Ok(Self { keys })
    }

    /// A `SECRET_KEYS` value with one fresh random key (demo and tests only: secrets sealed with it do
    /// not survive a restart).
    pub fn ephemeral_spec() -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        format!(
            "ephemeral:{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    }

    fn current(&self) -> &Key {
        &self.keys[0]
    }

    /// Seals `plaintext` for the row identified by `aad` (e.g. `mailbox_id/kind`).
    pub fn seal(&self, aad: &str, plaintext: &[u8]) -> Sealed {
        let key = self.current();
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = key
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .expect("encryption with a valid key cannot fail");
        Sealed {
            key_id: key.id.clone(),
            nonce: nonce.to_vec(),
            ciphertext,
        }
    }

    pub fn open(&self, aad: &str, sealed: &Sealed) -> Result<Vec<u8>, CryptoError> {
        let key = self
            .keys
            .iter()
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(|| CryptoError::UnknownKey(sealed.key_id.clone()))?;
        let nonce: [u8; 24] = sealed
            .nonce
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Tampered)?;
        key.cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Tampered)
    }

    /// The session-signing key and its id (the current key's).
    pub fn session_signing_key(&self) -> (&str, &[u8; 32]) {
        let k = self.current();
        (&k.id, &k.session_key)
    }

    /// The session key with id `kid`, for verifying tokens signed before a rotation.
    pub fn session_key(&self, kid: &str) -> Option<&[u8; 32]> {
        self.keys
            .iter()
            .find(|k| k.id == kid)
            .map(|k| &k.session_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const K2: &str = "k2:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

    #[test]
    fn sealed_secret_opens_with_the_same_row_identity() {
        let ring = Keyring::parse(K1).unwrap();
        let sealed = ring.seal("mbx/crm_password", b"hunter2");
        assert_eq!(sealed.key_id, "k1");
        assert!(!sealed.ciphertext.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(ring.open("mbx/crm_password", &sealed).unwrap(), b"hunter2");
    }

    #[test]
    fn a_ciphertext_moved_to_another_row_does_not_open() {
        let ring = Keyring::parse(K1).unwrap();
        let sealed = ring.seal("mbx-a/crm_password", b"hunter2");
        assert!(matches!(
            ring.open("mbx-b/crm_password", &sealed),
            Err(CryptoError::Tampered)
        ));
    }

    #[test]
    fn after_rotation_old_secrets_open_and_new_ones_use_the_new_key() {
        let old = Keyring::parse(K1).unwrap();
        let sealed_old = old.seal("r", b"x");
        let rotated = Keyring::parse(&format!("{K2},{K1}")).unwrap();
        assert_eq!(rotated.open("r", &sealed_old).unwrap(), b"x");
        assert_eq!(rotated.seal("r", b"y").key_id, "k2");
        let without_old = Keyring::parse(K2).unwrap();
        assert!(matches!(
            without_old.open("r", &sealed_old),
            Err(CryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn malformed_key_specs_are_refused_with_the_reason() {
        for (spec, needle) in [
            ("", "no keys"),
            ("nocolon", "kid:base64"),
            ("k1:***", "not base64"),
            ("k1:AAAA", "32 bytes"),
            (&format!("{K1},{K1}"), "twice"),
            (
                "bad id:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                "must be",
            ),
        ] {
            let err = Keyring::parse(spec).unwrap_err().to_string();
            assert!(err.contains(needle), "{spec}: {err}");
        }
    }

    #[test]
    fn debug_shows_key_ids_only() {
        let ring = Keyring::parse(K1).unwrap();
        assert_eq!(format!("{ring:?}"), r#"["k1"]"#);
    }
}
