//! Secret fields, encrypted exactly as s3db.js 21.6.2 does (`concerns/crypto.js`): AES-256-GCM
//! with a key derived by PBKDF2-HMAC-SHA256 (100 000 iterations) from the passphrase and a
//! 16-byte salt; stored as standard base64 of `salt(16) ‖ iv(12) ‖ ciphertext ‖ tag(16)`.
//!
//! s3db.js derives a fresh key (about 50 ms) for every encryption and decryption. [`Secrets`]
//! derives the key of one random salt once and reuses it for all its encryptions, each with a
//! fresh random IV, and keeps the keys of salts it has read in a bounded cache, so a warm
//! encryption or decryption costs one AES-GCM operation. The stored format is unchanged: every
//! value carries its salt, and s3db.js decrypts it as usual.
//!
//! ```
//! use s3db_codec::secret::Secrets;
//!
//! let secrets = Secrets::new("fixture-passphrase");
//! let stored = secrets.encrypt("hunter2")?;
//! assert_eq!(stored.len(), (16 + 12 + 7 + 16usize).div_ceil(3) * 4);
//! assert_eq!(secrets.decrypt(&stored)?, "hunter2");
//! assert!(Secrets::new("another").decrypt(&stored).is_err());
//! # Ok::<(), s3db_codec::CodecError>(())
//! ```

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose::STANDARD};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::pbkdf2;
use ring::rand::{SecureRandom, SystemRandom};

use crate::CodecError;

/// Bytes of the PBKDF2 salt at the start of a stored secret.
pub const SALT_LEN: usize = 16;
/// Bytes of the AES-GCM IV after the salt.
pub const IV_LEN: usize = NONCE_LEN;
/// Bytes of the AES-GCM authentication tag at the end.
pub const TAG_LEN: usize = 16;
/// PBKDF2-HMAC-SHA256 iterations s3db.js uses.
pub const PBKDF2_ITERATIONS: u32 = 100_000;

/// The value kind named in errors.
const KIND: &str = "secret";

/// How many derived keys of foreign salts one [`Secrets`] keeps (about 1 KB each).
const KEY_CACHE_CAPACITY: usize = 1024;

/// Standard base64 that accepts a missing final padding (s3db.js always writes it).
const BASE64_READ: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Encrypts and decrypts secret field values under one passphrase. Cheap to clone (clones share
/// the key cache); `Send + Sync`.
#[derive(Clone)]
pub struct Secrets {
    inner: Arc<Inner>,
}

/// What clones of one [`Secrets`] share.
struct Inner {
    passphrase: String,
    rng: SystemRandom,
    /// The salt and key of this instance's encryptions, made on the first encryption.
    writer: OnceLock<Result<SaltedKey, CodecError>>,
    /// Keys of salts read back, by salt.
    cache: Mutex<KeyCache>,
}

/// A salt and the key PBKDF2 derives from it.
struct SaltedKey {
    salt: [u8; SALT_LEN],
    key: Arc<LessSafeKey>,
}

/// A bounded map from salt to derived key; the oldest entry goes first.
#[derive(Default)]
struct KeyCache {
    keys: HashMap<[u8; SALT_LEN], Arc<LessSafeKey>>,
    order: VecDeque<[u8; SALT_LEN]>,
}

impl Secrets {
    /// Secrets under `passphrase` (s3db.js's default is `secret`). Derives nothing yet.
    pub fn new(passphrase: &str) -> Self {
        Secrets {
            inner: Arc::new(Inner {
                passphrase: passphrase.to_owned(),
                rng: SystemRandom::new(),
                writer: OnceLock::new(),
                cache: Mutex::new(KeyCache::default()),
            }),
        }
    }

    /// Encrypts `plaintext` into the stored form (base64 of salt ‖ iv ‖ ciphertext ‖ tag), with
    /// this instance's salt and a fresh random IV. The first call derives the key (PBKDF2).
    ///
    /// Fails only when the system's random generator fails.
    pub fn encrypt(&self, plaintext: &str) -> Result<String, CodecError> {
        let writer = self
            .inner
            .writer
            .get_or_init(|| self.new_salted_key())
            .as_ref()
            .map_err(Clone::clone)?;
        let mut iv = [0u8; IV_LEN];
        self.inner
            .rng
            .fill(&mut iv)
            .map_err(|_| CodecError::encode(KIND, "", "the system random generator failed"))?;
        let mut data = Vec::with_capacity(SALT_LEN + IV_LEN + plaintext.len() + TAG_LEN);
        data.extend_from_slice(&writer.salt);
        data.extend_from_slice(&iv);
        data.extend_from_slice(plaintext.as_bytes());
        let tag = writer
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(iv),
                Aad::empty(),
                &mut data[SALT_LEN + IV_LEN..],
            )
            .map_err(|_| CodecError::encode(KIND, "", "the plaintext is too long for AES-GCM"))?;
        data.extend_from_slice(tag.as_ref());
        Ok(STANDARD.encode(data))
    }

    /// Decrypts a stored secret. Invalid UTF-8 in the plaintext becomes U+FFFD, as in s3db.js.
    ///
    /// Errors (all `CodecError { action: "decode", kind: "secret", .. }`, naming the input):
    /// the value is not base64; it is shorter than salt + iv + tag (44 bytes); or authentication
    /// fails — a wrong passphrase, or a value that is not a ciphertext. s3db.js itself shows the
    /// stored string as the field value in all these cases; that fallback is the caller's.
    pub fn decrypt(&self, stored: &str) -> Result<String, CodecError> {
        let mut data = BASE64_READ
            .decode(stored)
            .map_err(|e| CodecError::decode(KIND, stored, format!("not base64: {e}")))?;
        if data.len() < SALT_LEN + IV_LEN + TAG_LEN {
            return Err(CodecError::decode(
                KIND,
                stored,
                format!(
                    "too short to be a ciphertext: {} bytes, at least {} needed",
                    data.len(),
                    SALT_LEN + IV_LEN + TAG_LEN
                ),
            ));
        }
        let (salt, rest) = data.split_at_mut(SALT_LEN);
        let (iv, sealed) = rest.split_at_mut(IV_LEN);
        let salt: [u8; SALT_LEN] = (&*salt)
            .try_into()
            .map_err(|_| CodecError::decode(KIND, stored, "salt of the wrong size"))?;
        let nonce = Nonce::try_assume_unique_for_key(iv)
            .map_err(|_| CodecError::decode(KIND, stored, "iv of the wrong size"))?;
        let key = self.key_for(salt)?;
        let plaintext = key
            .open_in_place(nonce, Aad::empty(), sealed)
            .map_err(|_| {
                CodecError::decode(
                    KIND,
                    stored,
                    "authentication failed: wrong passphrase or not a ciphertext",
                )
            })?;
        Ok(String::from_utf8_lossy(plaintext).into_owned())
    }

    /// A new random salt and its key.
    fn new_salted_key(&self) -> Result<SaltedKey, CodecError> {
        let mut salt = [0u8; SALT_LEN];
        self.inner
            .rng
            .fill(&mut salt)
            .map_err(|_| CodecError::encode(KIND, "", "the system random generator failed"))?;
        let key = Arc::new(self.derive(&salt)?);
        Ok(SaltedKey { salt, key })
    }

    /// The key of `salt`: this instance's own, a cached one, or a newly derived one (cached).
    fn key_for(&self, salt: [u8; SALT_LEN]) -> Result<Arc<LessSafeKey>, CodecError> {
        if let Some(Ok(writer)) = self.inner.writer.get()
            && writer.salt == salt
        {
            return Ok(Arc::clone(&writer.key));
        }
        if let Some(key) = self.cache().keys.get(&salt) {
            return Ok(Arc::clone(key));
        }
        let key = Arc::new(self.derive(&salt)?);
        self.cache().insert(salt, Arc::clone(&key));
        Ok(key)
    }

    /// The key cache, even if another thread panicked while holding it (it stays consistent).
    fn cache(&self) -> std::sync::MutexGuard<'_, KeyCache> {
        self.inner
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// PBKDF2-HMAC-SHA256(passphrase, salt, 100 000) as an AES-256-GCM key.
    fn derive(&self, salt: &[u8; SALT_LEN]) -> Result<LessSafeKey, CodecError> {
        let iterations = NonZeroU32::new(PBKDF2_ITERATIONS)
            .ok_or_else(|| CodecError::encode(KIND, "", "zero PBKDF2 iterations"))?;
        let mut key = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            salt,
            self.inner.passphrase.as_bytes(),
            &mut key,
        );
        let unbound = UnboundKey::new(&AES_256_GCM, &key)
            .map_err(|_| CodecError::encode(KIND, "", "AES-256-GCM refused the derived key"))?;
        Ok(LessSafeKey::new(unbound))
    }
}

impl KeyCache {
    /// Adds a key, dropping the oldest one when full.
    fn insert(&mut self, salt: [u8; SALT_LEN], key: Arc<LessSafeKey>) {
        if self.keys.insert(salt, key).is_some() {
            return;
        }
        self.order.push_back(salt);
        if self.order.len() > KEY_CACHE_CAPACITY
            && let Some(oldest) = self.order.pop_front()
        {
            self.keys.remove(&oldest);
        }
    }
}

impl fmt::Debug for Secrets {
    /// Never shows the passphrase.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets").finish_non_exhaustive()
    }
}

/// A secret string (passphrase, secret access key) that never shows itself: `Debug` prints
/// `SecretString(***)` and `Display` prints `***`, so a struct holding one can derive `Debug`
/// safely. [`SecretString::expose`] gives the value to the code that needs it.
///
/// ```
/// use s3db_codec::secret::SecretString;
///
/// let passphrase = SecretString::from("hunter2");
/// assert_eq!(passphrase.expose(), "hunter2");
/// assert_eq!(format!("{passphrase:?} {passphrase}"), "SecretString(***) ***");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        SecretString(value.into())
    }

    /// The secret itself; the only way to read it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        SecretString(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        SecretString(value.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn is_send_sync_and_hides_the_passphrase() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Secrets>();
        assert!(!format!("{:?}", Secrets::new("hush")).contains("hush"));
    }

    #[test]
    fn a_secret_string_never_shows_its_value() {
        let secret = SecretString::new("hush-hush");
        for shown in [
            format!("{secret:?}"),
            format!("{secret:#?}"),
            secret.to_string(),
            format!("{:?}", Some(secret.clone())),
        ] {
            assert!(!shown.contains("hush"), "{shown}");
        }
        assert_eq!(secret.expose(), "hush-hush");
        assert_eq!(secret, SecretString::from(String::from("hush-hush")));
    }

    #[test]
    fn one_salt_per_instance_fresh_iv_each_time() {
        let secrets = Secrets::new("p");
        let a = STANDARD.decode(secrets.encrypt("same").unwrap()).unwrap();
        let b = STANDARD.decode(secrets.encrypt("same").unwrap()).unwrap();
        assert_eq!(a[..SALT_LEN], b[..SALT_LEN]);
        assert_ne!(
            a[SALT_LEN..SALT_LEN + IV_LEN],
            b[SALT_LEN..SALT_LEN + IV_LEN]
        );
        assert_eq!(a.len(), SALT_LEN + IV_LEN + 4 + TAG_LEN);
        let other = STANDARD
            .decode(Secrets::new("p").encrypt("same").unwrap())
            .unwrap();
        assert_ne!(a[..SALT_LEN], other[..SALT_LEN]);
    }

    #[test]
    fn cache_is_bounded() {
        let mut cache = KeyCache::default();
        let key = || {
            let unbound = UnboundKey::new(&AES_256_GCM, &[7u8; 32]).unwrap();
            Arc::new(LessSafeKey::new(unbound))
        };
        for i in 0..KEY_CACHE_CAPACITY + 10 {
            let mut salt = [0u8; SALT_LEN];
            salt[..8].copy_from_slice(&(i as u64).to_le_bytes());
            cache.insert(salt, key());
        }
        assert_eq!(cache.keys.len(), KEY_CACHE_CAPACITY);
        assert_eq!(cache.order.len(), KEY_CACHE_CAPACITY);
        assert!(!cache.keys.contains_key(&[0u8; SALT_LEN]));
    }
}
