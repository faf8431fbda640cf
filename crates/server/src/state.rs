use std::sync::Arc;

use secrecy::ExposeSecret;
use sqlx::PgPool;

use crate::{
    config::Config,
    crypto::{CryptoError, Keyring},
    graph_access::GraphAccess,
    metrics::Metrics,
};

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    pub keyring: Arc<Keyring>,
    pub graph: Arc<GraphAccess>,
}

impl AppState {
    /// Fails when `SECRET_KEYS` is missing or malformed: the server must not run without a way to
    /// protect secrets at rest.
    pub fn new(db: PgPool, config: Config) -> Result<Self, CryptoError> {
        let spec = config.secret_keys.as_ref().ok_or_else(|| {
            CryptoError::BadKeys("SECRET_KEYS is required (`kid:base64(32 bytes)`)".into())
        })?;
        let keyring = Keyring::parse(spec.expose_secret())?;
        Ok(Self {
            db,
            graph: Arc::new(GraphAccess::new(&config)),
            config: Arc::new(config),
            metrics: Metrics::new(),
            keyring: Arc::new(keyring),
        })
    }
}
