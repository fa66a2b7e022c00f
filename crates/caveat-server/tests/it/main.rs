//! The API driven in-process with `oneshot` (axum's testing example): no port bound.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::items_after_statements,
    reason = "integration tests fail loudly; clippy.toml exempts only #[test] bodies"
)]

mod api;
mod bad_input;
mod cases;
mod contract;
mod events;
mod leaks;
mod outage;
mod rules;
mod snapshots;
mod views;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use caveat_core::{Marking, Partner, Purpose, Role, User};
use caveat_server::{AppState, Limits, app, new_token};
use caveat_store::{SqliteStore, Store};
use serde_json::Value;
use tower::ServiceExt;

/// A hub on an in-memory store with GBR, CAN and FRA, and one user per partner.
pub(crate) struct Hub {
    pub(crate) state: AppState,
    pub(crate) store: Arc<dyn Store>,
    tokens: std::collections::HashMap<&'static str, String>,
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    pub(crate) fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_owned()
    }
    pub(crate) fn message(&self) -> String {
        self.json()["error"]["message"].as_str().unwrap_or_default().to_owned()
    }
    /// The body as JSON, after checking it against what the OpenAPI document
    /// says `method path` answers with this status (`path` as the document
    /// writes it, e.g. `/v1/tracks/{id}`).
    pub(crate) fn conforming(&self, method: &str, path: &str) -> Value {
        let body = self.json();
        contract::check(method, path, self.status.as_u16(), &body);
        body
    }
}

impl Hub {
    pub(crate) async fn new() -> Hub {
        Hub::with_limits(Limits::default()).await
    }

    pub(crate) async fn with_limits(limits: Limits) -> Hub {
        Hub::on_store(Arc::new(SqliteStore::open_in_memory().unwrap()), limits).await
    }

    /// The same hub on a fresh schema of the PostgreSQL test server, when
    /// `CAVEAT_TEST_POSTGRES` names one (scripts/test starts it); `None` otherwise.
    pub(crate) async fn on_postgres(name: &str) -> Option<Hub> {
        let Ok(url) = std::env::var("CAVEAT_TEST_POSTGRES") else {
            eprintln!("skipped on PostgreSQL: CAVEAT_TEST_POSTGRES is not set");
            return None;
        };
        let schema = format!("srv_{name}_{}", std::process::id());
        let out = std::process::Command::new("psql")
            .arg(&url)
            .arg("-qc")
            .arg(format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let sep = if url.contains('?') { '&' } else { '?' };
        let store =
            caveat_store::PostgresStore::connect(&format!("{url}{sep}options=-csearch_path%3D{schema}")).await.unwrap();
        Some(Hub::on_store(Arc::new(store), Limits::default()).await)
    }

    pub(crate) async fn on_store(store: Arc<dyn Store>, limits: Limits) -> Hub {
        let grant = |to: &[&str], purposes: &[Purpose]| Marking::builder().to(to).purposes(purposes).build();
        for (id, marking) in [
            ("GBR", grant(&["CAN", "FRA", "USA-USCG"], &[Purpose::Interdiction, Purpose::SearchAndRescue])),
            ("CAN", grant(&["GBR", "USA-USCG"], &[Purpose::Interdiction])),
            ("FRA", grant(&["GBR", "CAN"], &[Purpose::SearchAndRescue])),
            ("USA-USCG", grant(&["GBR", "CAN"], &[Purpose::Interdiction])),
        ] {
            let p = Partner { id: id.parse().unwrap(), name: id.into(), default_marking: marking, ais_marking: None };
            store.put_partner(&p).await.unwrap();
        }
        let mut tokens = std::collections::HashMap::new();
        for (user, partner, roles) in [
            ("gbr", "GBR", vec![Role::Analyst, Role::PartnerAdmin]),
            ("can", "CAN", vec![Role::Analyst]),
            ("fra", "FRA", vec![Role::Analyst]),
            ("auditor", "CAN", vec![Role::Auditor]),
            ("uscg", "USA-USCG", vec![Role::WatchOfficer, Role::BoardingOfficer]),
            ("canwatch", "CAN", vec![Role::WatchOfficer, Role::BoardingOfficer]),
        ] {
            let u = User {
                id: user.parse().unwrap(),
                partner: partner.parse().unwrap(),
                roles: roles.into_iter().collect(),
            };
            store.put_user(&u).await.unwrap();
            let (token, hash) = new_token();
            store.add_token(&u.id, hash, time::OffsetDateTime::now_utc()).await.unwrap();
            tokens.insert(user, token);
        }
        let key = caveat_audit::SigningKey::from_seed("caveat.test/audit", [3; 32]).unwrap();
        let state = AppState::open(store.clone(), key).await.unwrap().with_limits(limits);
        Hub { state, store, tokens }
    }

    /// Adds a user of `partner` with `roles` (and a token for it).
    pub(crate) async fn add_user(&mut self, user: &'static str, partner: &str, roles: &[Role]) {
        let u = User {
            id: user.parse().unwrap(),
            partner: partner.parse().unwrap(),
            roles: roles.iter().copied().collect(),
        };
        self.store.put_user(&u).await.unwrap();
        let (token, hash) = new_token();
        self.store.add_token(&u.id, hash, time::OffsetDateTime::now_utc()).await.unwrap();
        self.tokens.insert(user, token);
    }

    pub(crate) fn token(&self, user: &str) -> &str {
        &self.tokens[user]
    }

    pub(crate) async fn send(&self, req: Request<Body>) -> Reply {
        let res = app(self.state.clone()).oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap().to_vec();
        Reply { status, headers, body }
    }

    /// GET as `user` with a purpose (None: no header).
    pub(crate) async fn get(&self, path: &str, user: &str, purpose: Option<&str>) -> Reply {
        let mut req = Request::get(path).header("authorization", format!("Bearer {}", self.token(user)));
        if let Some(p) = purpose {
            req = req.header("caveat-purpose", p);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    /// POST an NDJSON batch as `user`.
    pub(crate) async fn submit(&self, user: &str, ndjson: impl Into<Body>) -> Reply {
        let req = Request::post("/v1/reports")
            .header("authorization", format!("Bearer {}", self.token(user)))
            .header("content-type", "application/x-ndjson")
            .body(ndjson.into())
            .unwrap();
        self.send(req).await
    }

    pub(crate) async fn stored(&self) -> u64 {
        self.store.count_reports(&caveat_store::ReportQuery::default()).await.unwrap()
    }
}

/// The id the hub stores for `id` supplied by `partner` (scoped to it).
pub(crate) fn scoped(id: &str, partner: &str) -> String {
    id.parse::<caveat_core::ReportId>().unwrap().scoped_to(&partner.parse().unwrap()).to_string()
}

/// A valid report line (no id: the hub mints one).
pub(crate) fn line(lat: f64) -> String {
    format!(
        r#"{{"observed_at":"2026-11-20T03:14:00Z","position":{{"lat":{lat},"lon":-64.9}},"uncertainty_m":120,"source":"coastal-radar"}}"#
    )
}
