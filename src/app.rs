//! The running application: its shared state, and the server that serves it.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::db::Db;
use crate::http::story::FragmentCache;
use crate::keys::Keys;
use crate::render::{Assets, Renderer};
use crate::site::{ContentEpoch, Site, SiteCache};

/// Everything a request handler may need, built once at start.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub keys: Keys,
    pub assets: Arc<Assets>,
    pub renderer: Renderer,
    pub site: Arc<SiteCache>,
    pub fragments: Arc<FragmentCache>,
    pub epoch: Arc<ContentEpoch>,
    pub limiter: Arc<crate::http::limits::RateLimiter>,
    pub sessions: Arc<crate::http::auth::SessionCache>,
    /// The guidelines check every new or edited comment passes (see
    /// [`AppState::checker`]).
    /// With the content epoch it was last found current at.
    checker: Arc<std::sync::RwLock<(i64, Arc<crate::moderation::Checker>)>>,
    model: Option<Arc<crate::moderation::Model>>,
    /// The comments under each story, rendered and kept briefly.
    pub previews: Arc<crate::http::comments::Previews>,
    /// Signed-in members' account links as rendered, by session.
    pub member_links: Arc<crate::http::readers::MemberLinks>,
    /// Signed-in members' reads this period and saved stories, kept briefly.
    pub members: Arc<crate::http::readers::MemberStates>,
}

impl AppState {
    /// Builds the state over an opened, migrated database.
    pub fn new(config: Config, db: Db, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data folder {}",
                config.data_dir.display()
            )
        })?;
        let keys = Keys::load(
            config.secret_key.as_deref(),
            &config.previous_secret_keys,
            &config.data_dir,
        )?;
        let assets = Assets::load(&config.theme_dir);
        let renderer = Renderer::new(&config.theme_dir, &assets);
        renderer
            .check_all()
            .context("a template does not compile")?;
        let model = moderation_model(&config.data_dir).map(Arc::new);
        Ok(AppState {
            db,
            clock,
            keys,
            assets: Arc::new(assets),
            renderer,
            site: Arc::new(SiteCache::default()),
            fragments: Arc::new(FragmentCache::new(2_000)),
            limiter: Arc::new(Default::default()),
            sessions: Arc::new(crate::http::auth::SessionCache::new(
                std::time::Duration::from_millis(config.change_poll_ms),
            )),
            checker: Arc::new(std::sync::RwLock::new((
                -1,
                Arc::new(crate::moderation::Checker::new(
                    own_hosts(&config, Default::default()),
                    model.as_deref().cloned(),
                )),
            ))),
            model,
            previews: Arc::new(crate::http::comments::Previews::new(
                std::time::Duration::from_millis(config.change_poll_ms),
            )),
            member_links: Arc::default(),
            members: Arc::new(crate::http::readers::MemberStates::new(
                std::time::Duration::from_millis(config.change_poll_ms),
            )),
            epoch: Arc::new(ContentEpoch::new(std::time::Duration::from_millis(
                config.change_poll_ms,
            ))),
            config: Arc::new(config),
        })
    }

    /// Connects what instances share beyond the database: with `redis_url`
    /// set, rate limits are counted in Redis (start fails if it does not
    /// answer); without it, in this process.
    pub async fn connect_shared(&mut self) -> anyhow::Result<()> {
        if let Some(url) = &self.config.redis_url {
            let namespace = self.config.public_url.as_str();
            self.limiter =
                Arc::new(crate::http::limits::RateLimiter::shared(url, namespace).await?);
        }
        Ok(())
    }

    /// The guidelines check for the publication's current guidelines: the
    /// same one while they stay the same, a new one when an admin changed
    /// them.
    pub fn checker(&self, site: &Site) -> Arc<crate::moderation::Checker> {
        {
            // Settings change only with the content epoch: within one, the
            // checker found current stays current.
            let (epoch, current) = &*self.checker.read().unwrap_or_else(|e| e.into_inner());
            if *epoch == site.epoch {
                return current.clone();
            }
        }
        let wanted = own_hosts(&self.config, site.guidelines.clone());
        let mut slot = self.checker.write().unwrap_or_else(|e| e.into_inner());
        if *slot.1.guidelines() != wanted {
            slot.1 = Arc::new(crate::moderation::Checker::new(
                wanted,
                self.model.as_deref().cloned(),
            ));
        }
        slot.0 = site.epoch;
        slot.1.clone()
    }

    /// Loads the guidelines check's language models now, on a blocking
    /// thread, so the first commenter does not wait for them.
    pub fn preload_checker(&self) {
        let checker = self
            .checker
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clone();
        tokio::task::spawn_blocking(move || checker.preload());
    }

    pub fn now_micros(&self) -> i64 {
        crate::clock::micros(self.clock.now())
    }

    /// The site snapshot at the database's current content epoch.
    pub async fn current_site(&self) -> Result<Arc<Site>, sqlx::Error> {
        let epoch = self.epoch.get(&self.db, self.now_micros()).await?;
        self.site_at(epoch).await
    }

    /// The site snapshot at a known epoch (loaded from the database on a change).
    pub async fn site_at(&self, epoch: i64) -> Result<Arc<Site>, sqlx::Error> {
        if let Some(site) = self.site.cached(epoch) {
            return Ok(site);
        }
        let mut conn = self.db.read().await?;
        self.site.get(conn.ex(), epoch).await
    }
}

/// The publication's guidelines as the server applies them: its `guidelines`
/// setting (the built-in ones where it says nothing), its own host allowed
/// in links. For `masthead moderate` given a data folder or a database.
pub async fn publication_guidelines(
    config: &Config,
    db: &Db,
) -> anyhow::Result<crate::moderation::Guidelines> {
    let mut conn = db.read().await?;
    let stored: Option<crate::moderation::Guidelines> =
        crate::db::settings::get(conn.ex(), "guidelines")
            .await
            .context("the publication's guidelines setting cannot be read")?;
    Ok(own_hosts(config, stored.unwrap_or_default()))
}

/// Guidelines with the publication's own host among the allowed link hosts:
/// a link to one of its own stories is not an outside link.
pub fn own_hosts(
    config: &Config,
    mut g: crate::moderation::Guidelines,
) -> crate::moderation::Guidelines {
    if let Some(url::Host::Domain(host)) = config.public_url.host()
        && !g.allowed_link_hosts.iter().any(|h| h == host)
    {
        g.allowed_link_hosts.push(host.to_string());
    }
    g
}

/// The model `masthead moderate train` left in the data folder, if any. A
/// model that cannot be read is left out (and said so): the rules still hold.
pub fn moderation_model(data_dir: &std::path::Path) -> Option<crate::moderation::Model> {
    let path = data_dir.join(crate::moderation::cli::MODEL_FILE);
    if !path.exists() {
        return None;
    }
    match crate::moderation::Model::load(&path) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "the moderation model cannot be read; checking comments without it");
            None
        }
    }
}

/// Opens and migrates the database named in the configuration.
pub async fn open_database(config: &Config) -> anyhow::Result<Db> {
    let shown = crate::db::redact_url(&config.database_url);
    if config.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data folder {}",
                config.data_dir.display()
            )
        })?;
    }
    let db = Db::open(&config.database_url).await?;
    db.migrate(&shown).await?;
    Ok(db)
}

/// A server bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Binds the listen address (port 0 picks a free port, as tests do).
    pub async fn bind(state: AppState) -> anyhow::Result<Application> {
        let addr = state.config.listen;
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        Ok(Application { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight.
    /// The database is left open for the caller to close.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let router = crate::http::router(self.state.clone());
        axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .context("the server stopped")?;
        self.state.db.close().await;
        Ok(())
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// The real clock, for the binary.
pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}
