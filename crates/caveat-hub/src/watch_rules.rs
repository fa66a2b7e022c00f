//! Watch rules (issue 20 item 5): what a user, or a partner through its
//! partner admins, watches for (an area, a watchlist, event kinds) and whom
//! an alert goes to. This module owns their shape, their validation (every
//! refusal names the field, e.g. `area.coordinates[0][3]`), who may see and
//! change them, and the audit entry of each change. The store keeps them
//! versioned (`caveat_store::StoredRule`); alerts are derived from them in
//! `alerts`.
//!
//! Geometry is checked with caveat-events' own polygon code (the one the
//! detectors use for containment), not the `geo` crate: the rule must be
//! accepted exactly when the detector can use it, and the project keeps
//! `geo`'s geometry model and dependency tree out (see caveat-events' geo
//! module).

use std::collections::BTreeSet;

use caveat_audit::{AuditEntry, Hash, RuleChange, RuleChangeKind};
use caveat_core::{PartnerId, Position, Role, User, UserId};
use caveat_events::{MAX_VERTICES, Polygon, first_crossing};
use caveat_store::{RuleId, RuleOwner, StoredRule};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::events::EventKindName;
use crate::views::DEFAULT_WINDOW;
use crate::{Error, Hub};

/// Most rules one owner (a user, or a partner) may hold.
pub const MAX_RULES_PER_OWNER: usize = 100;

/// Most polygons in one rule's area (a MultiPolygon's parts).
pub const MAX_POLYGONS: usize = 16;

/// Most entries in each list of a watchlist, and most recipients.
pub const MAX_LIST: usize = 1_000;

/// Longest rule name, and longest name or track id in a watchlist, in characters.
pub const MAX_NAME: usize = 100;

/// Fastest speed a rule may ask about: nothing afloat that AIS reports goes faster.
pub const MAX_SPEED_KN: f64 = 100.0;

/// Largest body of a rule as submitted.
pub const MAX_RULE_BODY: usize = 256 * 1024;

/// A rule's area: a GeoJSON Polygon or MultiPolygon geometry (RFC 7946),
/// WGS 84 longitude, latitude. Rings are closed (the last position repeats
/// the first); interior rings (holes) are not supported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum RuleArea {
    /// One polygon: `[[[lon, lat], ...]]`.
    Polygon {
        /// Its rings: exactly one, the exterior.
        coordinates: Vec<Vec<Vec<f64>>>,
    },
    /// Several polygons: `[[[[lon, lat], ...]], ...]`.
    MultiPolygon {
        /// Its polygons, each as a Polygon's coordinates.
        coordinates: Vec<Vec<Vec<Vec<f64>>>>,
    },
}

/// Vessels a rule watches, by any of their identities.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Watchlist {
    /// MMSIs (9 digits).
    #[serde(default)]
    pub mmsis: BTreeSet<u32>,
    /// IMO numbers (7 digits).
    #[serde(default)]
    pub imos: BTreeSet<u32>,
    /// Vessel names, matched ignoring case and surrounding space.
    #[serde(default)]
    pub names: BTreeSet<String>,
    /// Track ids as at `/v1/tracks` (a track exists only in its view).
    #[serde(default)]
    pub tracks: BTreeSet<String>,
}

impl Watchlist {
    fn is_empty(&self) -> bool {
        self.mmsis.is_empty() && self.imos.is_empty() && self.names.is_empty() && self.tracks.is_empty()
    }
}

/// The speed range of a rule's `speed-in-area` alerts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpeedRange {
    /// Slowest speed, knots (0 to 100).
    pub min_kn: f64,
    /// Fastest speed, knots (`min_kn` to 100).
    pub max_kn: f64,
    /// For at least this long, seconds (0 to the 24 h window events are kept for).
    pub min_duration_s: u64,
}

/// Who is alerted: one user of the rule's partner, or all its users.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Recipient {
    /// One user (of the rule's partner).
    User(UserId),
    /// Every user of the partner (it must be the rule's own).
    Partner(PartnerId),
}

/// Who owns a new rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OwnerChoice {
    /// The caller (the default).
    #[default]
    User,
    /// The caller's partner: only a partner admin may create, change or delete such a rule.
    Partner,
}

/// A rule as submitted (`POST /v1/rules`, `PUT /v1/rules/{id}`).
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Its name, for people (1 to 100 characters).
    pub name: String,
    /// Only events in this area (GeoJSON); null or absent: anywhere.
    #[serde(default)]
    pub area: Option<RuleArea>,
    /// Only events about these vessels; null or absent: any vessel.
    #[serde(default)]
    pub watchlist: Option<Watchlist>,
    /// The event kinds that alert; empty: every kind. `area-entry` and
    /// `area-exit` need an area; `speed-in-area` needs `speed`.
    #[serde(default)]
    pub kinds: BTreeSet<EventKindName>,
    /// The speed range of `speed-in-area` (only with that kind).
    #[serde(default)]
    pub speed: Option<SpeedRange>,
    /// Who is alerted; empty: the owner.
    #[serde(default)]
    pub recipients: BTreeSet<Recipient>,
    /// Alert on vessels moored or at anchor in harbour too (default false).
    #[serde(default)]
    pub include_harbour: bool,
    /// Who owns it (on create only; a rule never changes owner).
    #[serde(default)]
    pub owner: Option<OwnerChoice>,
    /// On update, the version the change was made from (409 if the rule changed since); absent on create.
    #[serde(default)]
    pub version: Option<u64>,
}

/// What the store keeps of a rule beyond its owner and version (its JSON body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RuleContent {
    name: String,
    area: Option<RuleArea>,
    watchlist: Option<Watchlist>,
    kinds: BTreeSet<EventKindName>,
    speed: Option<SpeedRange>,
    recipients: BTreeSet<Recipient>,
    include_harbour: bool,
}

/// A stored watch rule, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WatchRule {
    /// Its id (`W-` and 32 hex digits).
    pub id: String,
    /// The partner it belongs to.
    pub partner: PartnerId,
    /// The user who owns it; null when the partner owns it (its partner admins manage it).
    #[schema(required)]
    pub owner_user: Option<UserId>,
    /// Its name.
    pub name: String,
    /// Its area; null: anywhere.
    #[schema(required)]
    pub area: Option<RuleArea>,
    /// Its watchlist; null: any vessel.
    #[schema(required)]
    pub watchlist: Option<Watchlist>,
    /// The kinds that alert; empty: every kind.
    pub kinds: BTreeSet<EventKindName>,
    /// The speed range of `speed-in-area`.
    #[schema(required)]
    pub speed: Option<SpeedRange>,
    /// Who is alerted.
    pub recipients: BTreeSet<Recipient>,
    /// Whether vessels moored or at anchor in harbour alert too.
    pub include_harbour: bool,
    /// 1 when created, one more at every update; send it back with an update.
    pub version: u64,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The rules the caller may see.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleList {
    /// Oldest first.
    pub rules: Vec<WatchRule>,
}

/// A rule checked and ready to match: its area as the detectors' polygons.
#[derive(Debug, Clone)]
pub(crate) struct ValidRule {
    pub(crate) rule: WatchRule,
    pub(crate) polygons: Vec<Polygon>,
}

impl ValidRule {
    pub(crate) fn id(&self) -> &str {
        &self.rule.id
    }

    /// Whether `p` is in the rule's area (anywhere, without one).
    pub(crate) fn covers(&self, p: Position) -> bool {
        self.rule.area.is_none() || self.polygons.iter().any(|g| g.contains(p))
    }

    /// Whether `user` is alerted by it.
    pub(crate) fn alerts(&self, user: &User) -> bool {
        self.rule.recipients.iter().any(|r| match r {
            Recipient::User(u) => u == &user.id,
            Recipient::Partner(p) => p == &user.partner,
        })
    }
}

fn bad(field: impl std::fmt::Display, why: impl std::fmt::Display) -> Error {
    Error::BadRequest(format!("field `{field}`: {why}"))
}

/// Reads a rule as submitted; a malformed one is refused naming the field
/// (an unknown kind, say, as `kinds[1]`).
///
/// # Errors
/// [`Error::BadRequest`].
pub fn parse_rule(bytes: &[u8]) -> Result<RuleSpec, Error> {
    if bytes.len() > MAX_RULE_BODY {
        return Err(Error::BadRequest(format!("body: over the limit of {MAX_RULE_BODY} bytes")));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner: String = e.inner().to_string().chars().take(200).collect();
        if path == "." { Error::BadRequest(format!("body: {inner}")) } else { bad(path, inner) }
    })
}

/// The polygons of one ring list (a Polygon's coordinates), at `field`.
fn polygon_of(rings: &[Vec<Vec<f64>>], field: &str, vertices: &mut usize) -> Result<Polygon, Error> {
    let Some(outer) = rings.first() else { return Err(bad(field, "a polygon needs its exterior ring")) };
    if rings.len() > 1 {
        return Err(bad(format!("{field}[1]"), "interior rings (holes) are not supported"));
    }
    let ring = format!("{field}[0]");
    if outer.len() < 4 {
        return Err(bad(&ring, "a ring needs at least 4 positions, the last repeating the first"));
    }
    *vertices += outer.len() - 1;
    if *vertices > MAX_VERTICES {
        return Err(bad(&ring, format!("the area has more than {MAX_VERTICES} vertices")));
    }
    let mut points = Vec::with_capacity(outer.len());
    for (i, c) in outer.iter().enumerate() {
        let at = format!("{ring}[{i}]");
        let (Some(&lon), Some(&lat), true) = (c.first(), c.get(1), (2..=3).contains(&c.len())) else {
            return Err(bad(at, "a position is [longitude, latitude]"));
        };
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(bad(at, format!("longitude {lon} is outside -180 to 180")));
        }
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(bad(at, format!("latitude {lat} is outside -90 to 90")));
        }
        points.push(Position { lat, lon });
    }
    if points.first() != points.last() {
        return Err(bad(&ring, "the ring is not closed: its last position must repeat the first"));
    }
    points.pop();
    for (i, w) in points.windows(2).enumerate() {
        if let [a, b] = w
            && a == b
        {
            return Err(bad(format!("{ring}[{}]", i + 1), "repeats the position before it"));
        }
    }
    if let Some((i, j)) = first_crossing(&points) {
        return Err(bad(format!("{ring}[{i}]"), format!("self-intersecting: edge {i} crosses edge {j}")));
    }
    // Twice the signed area (shoelace, in degrees): zero, for a ring whose
    // edges do not cross, is one with no inside (all on a line).
    let n = points.len();
    let twice: f64 = (0..n)
        .filter_map(|i| Some((points.get(i)?, points.get((i + 1) % n)?)))
        .map(|(a, b)| a.lon * b.lat - b.lon * a.lat)
        .sum();
    if twice.abs() < 1e-12 {
        return Err(bad(&ring, "degenerate: the ring encloses no area"));
    }
    Polygon::new(points).map_err(|e| bad(&ring, e))
}

/// The checks a rule passes before it is created or replaced: `spec` owned
/// by `owner` within `partner`, whose users are `users`.
///
/// # Errors
/// [`Error::BadRequest`] naming the first field at fault.
pub fn validate_rule(
    spec: &RuleSpec,
    partner: &PartnerId,
    owner: &RuleOwner,
    users: &BTreeSet<UserId>,
) -> Result<(), Error> {
    validate(spec, partner, owner, users).map(|_| ())
}

/// Checks `spec` as owned by `owner` within `partner` (recipients must be of
/// that partner; `users` are its users). Everything but the id, version and
/// times of the rule returned comes from here.
///
/// # Errors
/// [`Error::BadRequest`] naming the first field at fault.
fn validate(
    spec: &RuleSpec,
    partner: &PartnerId,
    owner: &RuleOwner,
    users: &BTreeSet<UserId>,
) -> Result<(RuleContent, Vec<Polygon>), Error> {
    let name = spec.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(bad("name", format!("1 to {MAX_NAME} printable characters")));
    }
    let mut vertices = 0;
    let polygons = match &spec.area {
        None => Vec::new(),
        Some(RuleArea::Polygon { coordinates }) => vec![polygon_of(coordinates, "area.coordinates", &mut vertices)?],
        Some(RuleArea::MultiPolygon { coordinates }) => {
            if coordinates.is_empty() || coordinates.len() > MAX_POLYGONS {
                return Err(bad("area.coordinates", format!("1 to {MAX_POLYGONS} polygons")));
            }
            coordinates
                .iter()
                .enumerate()
                .map(|(k, rings)| polygon_of(rings, &format!("area.coordinates[{k}]"), &mut vertices))
                .collect::<Result<_, _>>()?
        }
    };
    if let Some(w) = &spec.watchlist {
        check_watchlist(w)?;
    }
    let watchlist = spec.watchlist.clone().filter(|w| !w.is_empty());
    if spec.area.is_none() && watchlist.is_none() && spec.kinds.is_empty() {
        return Err(bad("kinds", "an empty rule (no area, no watchlist, no kinds) would alert on everything"));
    }
    for k in [EventKindName::AreaEntry, EventKindName::AreaExit] {
        if spec.kinds.contains(&k) && spec.area.is_none() {
            return Err(bad("area", format!("required with kind {}", kind_name(k))));
        }
    }
    match (&spec.speed, spec.kinds.contains(&EventKindName::SpeedInArea)) {
        (None, true) => return Err(bad("speed", "required with kind speed-in-area")),
        (Some(_), false) => return Err(bad("speed", "only with kind speed-in-area")),
        (Some(s), true) => check_speed(s)?,
        (None, false) => {}
    }
    if spec.recipients.len() > MAX_LIST {
        return Err(bad("recipients", format!("at most {MAX_LIST}")));
    }
    for r in &spec.recipients {
        match r {
            Recipient::User(u) if !users.contains(u) => {
                return Err(bad("recipients", format!("user {u} is not a user of {partner}")));
            }
            Recipient::Partner(p) if p != partner => {
                return Err(bad("recipients", format!("partner {p} is not the rule's partner {partner}")));
            }
            _ => {}
        }
    }
    let recipients = if spec.recipients.is_empty() {
        [match owner {
            RuleOwner::User(u) => Recipient::User(u.clone()),
            RuleOwner::Partner => Recipient::Partner(partner.clone()),
        }]
        .into()
    } else {
        spec.recipients.clone()
    };
    let content = RuleContent {
        name: name.to_owned(),
        area: spec.area.clone(),
        watchlist,
        kinds: spec.kinds.clone(),
        speed: spec.speed,
        recipients,
        include_harbour: spec.include_harbour,
    };
    Ok((content, polygons))
}

fn kind_name(k: EventKindName) -> String {
    serde_json::to_value(k).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn check_watchlist(w: &Watchlist) -> Result<(), Error> {
    for (field, n) in
        [("mmsis", w.mmsis.len()), ("imos", w.imos.len()), ("names", w.names.len()), ("tracks", w.tracks.len())]
    {
        if n > MAX_LIST {
            return Err(bad(format!("watchlist.{field}"), format!("at most {MAX_LIST} entries")));
        }
    }
    if let Some(m) = w.mmsis.iter().find(|m| !(1..=999_999_999).contains(*m)) {
        return Err(bad("watchlist.mmsis", format!("{m} is not an MMSI (9 digits)")));
    }
    if let Some(m) = w.imos.iter().find(|m| !(1_000_000..=9_999_999).contains(*m)) {
        return Err(bad("watchlist.imos", format!("{m} is not an IMO number (7 digits)")));
    }
    for (field, list) in [("names", &w.names), ("tracks", &w.tracks)] {
        if list.iter().any(|s| s.trim().is_empty() || s.chars().count() > MAX_NAME || s.chars().any(char::is_control)) {
            return Err(bad(format!("watchlist.{field}"), format!("each 1 to {MAX_NAME} printable characters")));
        }
    }
    Ok(())
}

fn check_speed(s: &SpeedRange) -> Result<(), Error> {
    for (field, v) in [("speed.min_kn", s.min_kn), ("speed.max_kn", s.max_kn)] {
        if !v.is_finite() || !(0.0..=MAX_SPEED_KN).contains(&v) {
            return Err(bad(field, format!("{v} is outside 0 to {MAX_SPEED_KN} kn")));
        }
    }
    if s.min_kn > s.max_kn {
        return Err(bad("speed.min_kn", format!("{} is above max_kn {}", s.min_kn, s.max_kn)));
    }
    let window = u64::try_from(DEFAULT_WINDOW.whole_seconds()).unwrap_or(u64::MAX);
    if s.min_duration_s > window {
        return Err(bad("speed.min_duration_s", format!("over the {window} s that events are kept for")));
    }
    Ok(())
}

/// A stored rule read back (its body is the hub's own JSON: unreadable is internal).
pub(crate) fn decode(stored: &StoredRule) -> Result<ValidRule, Error> {
    let content: RuleContent =
        serde_json::from_str(&stored.body).map_err(|e| Error::internal("reading a stored rule", &e))?;
    let mut vertices = 0;
    // Stored rules were validated; one that no longer is (the database was edited) is internal, not the caller's.
    let stored_area = |e: Error| Error::internal("reading a stored rule's area", &e);
    let polygons = match &content.area {
        None => Vec::new(),
        Some(RuleArea::Polygon { coordinates }) => {
            vec![polygon_of(coordinates, "area.coordinates", &mut vertices).map_err(stored_area)?]
        }
        Some(RuleArea::MultiPolygon { coordinates }) => coordinates
            .iter()
            .map(|rings| polygon_of(rings, "area.coordinates", &mut vertices).map_err(stored_area))
            .collect::<Result<_, _>>()?,
    };
    let rule = WatchRule {
        id: stored.id.to_string(),
        partner: stored.partner.clone(),
        owner_user: match &stored.owner {
            RuleOwner::User(u) => Some(u.clone()),
            RuleOwner::Partner => None,
        },
        name: content.name,
        area: content.area,
        watchlist: content.watchlist,
        kinds: content.kinds,
        speed: content.speed,
        recipients: content.recipients,
        include_harbour: content.include_harbour,
        version: stored.version,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
    };
    Ok(ValidRule { rule, polygons })
}

/// Whether `user` may see `rule`: its own, or its partner's when it is a
/// partner admin or alerted by it. Another partner's rules, and other users'
/// own rules, are not there for it (404, as an id that does not exist).
fn may_see(user: &User, rule: &StoredRule, content: &ValidRule) -> bool {
    rule.partner == user.partner
        && match &rule.owner {
            RuleOwner::User(u) => u == &user.id,
            RuleOwner::Partner => user.has(Role::PartnerAdmin) || content.alerts(user),
        }
}

/// Whether `user`, who may see `rule`, may change it.
fn may_change(user: &User, rule: &StoredRule) -> bool {
    match &rule.owner {
        RuleOwner::User(u) => u == &user.id,
        RuleOwner::Partner => user.has(Role::PartnerAdmin),
    }
}

fn parse_id(id: &str) -> Result<RuleId, Error> {
    id.parse().map_err(|_| Error::NotFound)
}

fn conflict(e: caveat_store::Error) -> Error {
    match e {
        caveat_store::Error::RuleConflict { message, .. } => Error::Conflict(format!("rule: {message}")),
        caveat_store::Error::TooManyRules { limit } => {
            bad("owner", format!("the owner already has {limit} rules, the most allowed; delete one first"))
        }
        other => other.into(),
    }
}

impl Hub {
    /// The rule change's audit entry, shaped here alone.
    fn rule_entry(user: &User, rule: &StoredRule, change: RuleChangeKind, now: OffsetDateTime) -> AuditEntry {
        AuditEntry::RuleChange(RuleChange {
            at: now,
            partner: rule.partner.clone(),
            user: user.id.clone(),
            rule: rule.id.to_string(),
            change,
            version: rule.version,
            digest: (change != RuleChangeKind::Deleted).then(|| Hash::sha256(rule.body.as_bytes())),
        })
    }

    async fn users_of(&self, partner: &PartnerId) -> Result<BTreeSet<UserId>, Error> {
        Ok(self.store.users(Some(partner)).await?.into_iter().map(|u| u.id).collect())
    }

    /// Every rule of `partner`, decoded.
    pub(crate) async fn rules_of_partner(&self, partner: &PartnerId) -> Result<Vec<ValidRule>, Error> {
        self.store.rules_of(partner).await?.iter().map(decode).collect()
    }

    /// The rules `user` may see, oldest first.
    ///
    /// # Errors
    /// The store fails.
    pub async fn rules(&self, user: &User) -> Result<RuleList, Error> {
        let mut rules = Vec::new();
        for stored in self.store.rules_of(&user.partner).await? {
            let valid = decode(&stored)?;
            if may_see(user, &stored, &valid) {
                rules.push(valid.rule);
            }
        }
        Ok(RuleList { rules })
    }

    /// One rule `user` may see.
    ///
    /// # Errors
    /// [`Error::NotFound`] for a rule that does not exist or that `user` may not see (alike).
    pub async fn rule(&self, user: &User, id: &str) -> Result<WatchRule, Error> {
        let stored = self.store.rule(parse_id(id)?).await?.ok_or(Error::NotFound)?;
        let valid = decode(&stored)?;
        if may_see(user, &stored, &valid) { Ok(valid.rule) } else { Err(Error::NotFound) }
    }

    /// Creates a rule owned by `user` (or, with `owner: partner`, by its
    /// partner: partner admins only), audits it, and returns it.
    ///
    /// # Errors
    /// [`Error::BadRequest`] naming the field at fault (also for a version, or
    /// an owner already at [`MAX_RULES_PER_OWNER`]); [`Error::Forbidden`] for a
    /// partner rule by a user who is not a partner admin; the store or the audit log fails.
    pub async fn create_rule(&self, user: &User, spec: RuleSpec) -> Result<WatchRule, Error> {
        if spec.version.is_some() {
            return Err(bad("version", "a new rule has no version"));
        }
        let owner = match spec.owner.unwrap_or_default() {
            OwnerChoice::User => RuleOwner::User(user.id.clone()),
            OwnerChoice::Partner if user.has(Role::PartnerAdmin) => RuleOwner::Partner,
            OwnerChoice::Partner => return Err(Error::Forbidden("partner-admin")),
        };
        let (content, _) = validate(&spec, &user.partner, &owner, &self.users_of(&user.partner).await?)?;
        let now = OffsetDateTime::now_utc();
        let stored = StoredRule {
            id: RuleId::from_bytes(rand::random()),
            partner: user.partner.clone(),
            owner,
            version: 1,
            created_at: now,
            updated_at: now,
            body: serde_json::to_string(&content).map_err(|e| Error::internal("encoding a rule", &e))?,
        };
        self.store.create_rule(&stored, MAX_RULES_PER_OWNER).await.map_err(conflict)?;
        self.audit.append(vec![Self::rule_entry(user, &stored, RuleChangeKind::Created, now)]).await?;
        self.events.rules_changed();
        self.notify_change();
        Ok(decode(&stored)?.rule)
    }

    /// Replaces rule `id` with `spec`, if it is still at `spec.version`.
    ///
    /// # Errors
    /// [`Error::NotFound`] as [`Hub::rule`]; [`Error::Forbidden`] for a rule
    /// `user` may see but not change; [`Error::BadRequest`] naming the field at
    /// fault (a missing version, an owner); [`Error::Conflict`] for a stale version.
    pub async fn update_rule(&self, user: &User, id: &str, spec: RuleSpec) -> Result<WatchRule, Error> {
        let found = self.store.rule(parse_id(id)?).await?.ok_or(Error::NotFound)?;
        if !may_see(user, &found, &decode(&found)?) {
            return Err(Error::NotFound);
        }
        if !may_change(user, &found) {
            return Err(Error::Forbidden("partner-admin"));
        }
        let Some(version) = spec.version else { return Err(bad("version", "required: the version you changed")) };
        if spec.owner.is_some() {
            return Err(bad("owner", "a rule never changes owner"));
        }
        let (content, _) = validate(&spec, &found.partner, &found.owner, &self.users_of(&found.partner).await?)?;
        let now = OffsetDateTime::now_utc();
        let stored = StoredRule {
            version: version.saturating_add(1),
            updated_at: now,
            body: serde_json::to_string(&content).map_err(|e| Error::internal("encoding a rule", &e))?,
            ..found
        };
        self.store.update_rule(&stored).await.map_err(conflict)?;
        self.audit.append(vec![Self::rule_entry(user, &stored, RuleChangeKind::Updated, now)]).await?;
        self.events.rules_changed();
        self.notify_change();
        Ok(decode(&stored)?.rule)
    }

    /// Deletes rule `id` (at `version`, when given; else as read now).
    ///
    /// # Errors
    /// As [`Hub::update_rule`].
    pub async fn delete_rule(&self, user: &User, id: &str, version: Option<u64>) -> Result<(), Error> {
        let found = self.store.rule(parse_id(id)?).await?.ok_or(Error::NotFound)?;
        if !may_see(user, &found, &decode(&found)?) {
            return Err(Error::NotFound);
        }
        if !may_change(user, &found) {
            return Err(Error::Forbidden("partner-admin"));
        }
        let at = version.unwrap_or(found.version);
        self.store.delete_rule(found.id, at).await.map_err(conflict)?;
        let now = OffsetDateTime::now_utc();
        self.audit
            .append(vec![Self::rule_entry(user, &StoredRule { version: at, ..found }, RuleChangeKind::Deleted, now)])
            .await?;
        self.events.rules_changed();
        self.notify_change();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn partner() -> PartnerId {
        "GBR".parse().unwrap()
    }

    fn owner() -> RuleOwner {
        RuleOwner::User("ana@gbr".parse().unwrap())
    }

    fn users() -> BTreeSet<UserId> {
        ["ana@gbr".parse().unwrap(), "bob@gbr".parse().unwrap()].into()
    }

    fn spec(json: &str) -> RuleSpec {
        parse_rule(json.as_bytes()).unwrap()
    }

    fn refusal(json: &str) -> String {
        match parse_rule(json.as_bytes()).and_then(|s| validate(&s, &partner(), &owner(), &users()).map(|_| ())) {
            Err(Error::BadRequest(m)) => m,
            other => panic!("{json} was not refused: {other:?}"),
        }
    }

    fn ring(points: &[(f64, f64)]) -> String {
        let mut cs: Vec<String> = points.iter().map(|(lon, lat)| format!("[{lon},{lat}]")).collect();
        if let Some(first) = cs.first().cloned() {
            cs.push(first);
        }
        format!(
            r#"{{"name":"x","kinds":["area-entry"],"area":{{"type":"Polygon","coordinates":[[{}]]}}}}"#,
            cs.join(",")
        )
    }

    #[test]
    fn a_good_rule_validates_and_defaults_to_its_owner() {
        let s = spec(&ring(&[(-65.0, 17.0), (-64.0, 17.0), (-64.0, 18.0), (-65.0, 18.0)]));
        let (c, polygons) = validate(&s, &partner(), &owner(), &users()).unwrap();
        assert_eq!(c.recipients, [Recipient::User("ana@gbr".parse().unwrap())].into());
        assert!(polygons.first().unwrap().contains(Position { lat: 17.5, lon: -64.5 }));
        assert!(!c.include_harbour);
    }

    #[test]
    fn each_refusal_names_its_field() {
        let cases = [
            (r#"{"name":"x"}"#.to_owned(), "field `kinds`: an empty rule"),
            (r#"{"name":"x","kinds":["ais-gap","teleport"]}"#.to_owned(), "field `kinds[1]`: unknown variant `teleport`"),
            (r#"{"name":"","kinds":["ais-gap"]}"#.to_owned(), "field `name`"),
            (r#"{"name":"x","kinds":["area-entry"]}"#.to_owned(), "field `area`: required with kind area-entry"),
            (r#"{"name":"x","kinds":["speed-in-area"]}"#.to_owned(), "field `speed`: required"),
            (
                r#"{"name":"x","kinds":["speed-in-area"],"speed":{"min_kn":30,"max_kn":20,"min_duration_s":60}}"#.to_owned(),
                "field `speed.min_kn`: 30 is above max_kn 20",
            ),
            (
                r#"{"name":"x","kinds":["speed-in-area"],"speed":{"min_kn":-1,"max_kn":20,"min_duration_s":60}}"#.to_owned(),
                "field `speed.min_kn`: -1 is outside",
            ),
            (
                r#"{"name":"x","kinds":["speed-in-area"],"speed":{"min_kn":1,"max_kn":250,"min_duration_s":60}}"#.to_owned(),
                "field `speed.max_kn`: 250 is outside",
            ),
            (
                r#"{"name":"x","kinds":["speed-in-area"],"speed":{"min_kn":1,"max_kn":25,"min_duration_s":90000}}"#.to_owned(),
                "field `speed.min_duration_s`: over the 86400 s",
            ),
            (r#"{"name":"x","watchlist":{"mmsis":[12345678901]}}"#.to_owned(), "field `watchlist.mmsis"),
            (r#"{"name":"x","watchlist":{"imos":[12]}}"#.to_owned(), "field `watchlist.imos`: 12 is not"),
            (r#"{"name":"x","kinds":["ais-gap"],"recipients":[{"user":"eve@can"}]}"#.to_owned(), "field `recipients`: user eve@can"),
            (r#"{"name":"x","kinds":["ais-gap"],"recipients":[{"partner":"CAN"}]}"#.to_owned(), "field `recipients`: partner CAN"),
            (ring(&[(-65.0, 17.0), (-64.0, 18.0), (-64.0, 17.0), (-65.0, 18.0)]), "field `area.coordinates[0][0]`: self-intersecting"),
            (ring(&[(-65.0, 17.0), (-64.0, 17.0), (-63.0, 17.0)]), "field `area.coordinates[0]`: degenerate"),
            (ring(&[(-65.0, 17.0), (-64.0, 17.0), (-64.0, 97.0), (-65.0, 18.0)]), "field `area.coordinates[0][2]`: latitude 97"),
            (ring(&[(-65.0, 17.0), (-194.0, 17.0), (-64.0, 18.0)]), "field `area.coordinates[0][1]`: longitude -194"),
            (
                r#"{"name":"x","area":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}}"#.to_owned(),
                "field `area.coordinates[0]`: the ring is not closed",
            ),
            (
                r#"{"name":"x","area":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]],[[0.1,0.1],[0.2,0.1],[0.2,0.2],[0.1,0.1]]]}}"#.to_owned(),
                "field `area.coordinates[1]`: interior rings",
            ),
            (r#"{"name":"x","area":{"type":"Point","coordinates":[0,0]}}"#.to_owned(), "field `area.type`: unknown variant `Point`"),
            (r#"{"name":"x","kinds":["ais-gap"],"include_harbor":true}"#.to_owned(), "include_harbor"),
        ];
        for (json, want) in cases {
            let got = refusal(&json);
            assert!(got.starts_with(want) || got.contains(want), "{json}: {got:?} lacks {want:?}");
        }
    }

    #[test]
    fn too_many_vertices_are_refused() {
        let n = MAX_VERTICES + 1;
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        let points: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let a = std::f64::consts::TAU * i as f64 / n as f64;
                (a.cos(), a.sin())
            })
            .collect();
        assert!(refusal(&ring(&points)).contains("more than 1000 vertices"));
    }

    /// A regular polygon around a random centre.
    fn regular(n: usize, lon: f64, lat: f64, r: f64) -> Vec<(f64, f64)> {
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        (0..n)
            .map(|i| {
                let a = std::f64::consts::TAU * i as f64 / n as f64;
                (lon + r * a.cos(), lat + r * a.sin())
            })
            .collect()
    }

    proptest! {
        /// Convex rings anywhere on the globe are accepted, and the polygon
        /// the detectors get contains the centre.
        #[test]
        fn convex_rings_validate(n in 3usize..60, lon in -170.0f64..170.0, lat in -80.0f64..80.0, r in 0.01f64..5.0) {
            let s = spec(&ring(&regular(n, lon, lat, r)));
            let (_, polygons) = validate(&s, &partner(), &owner(), &users()).unwrap();
            let centre = Position { lat, lon };
            prop_assert!(polygons.first().unwrap().contains(centre));
        }

        /// Swapping two vertices of a convex ring (not neighbours) makes edges
        /// cross: refused, naming a vertex of the exterior ring.
        #[test]
        fn swapped_vertices_are_self_intersecting(n in 5usize..40, i in 0usize..40, gap in 2usize..20, lon in -170.0f64..170.0, lat in -80.0f64..80.0) {
            let mut pts = regular(n, lon, lat, 1.0);
            let (i, j) = (i % n, (i % n + 2 + gap % (n - 3)) % n);
            prop_assume!(i != j && (i + 1) % n != j && (j + 1) % n != i);
            pts.swap(i, j);
            let msg = refusal(&ring(&pts));
            prop_assert!(msg.starts_with("field `area.coordinates[0]["), "{}", msg);
            prop_assert!(msg.contains("self-intersecting"), "{}", msg);
        }

        /// Whatever the coordinates, validation answers (never panics), and
        /// what it accepts the detectors' polygon accepts too.
        #[test]
        fn any_ring_is_answered(points in proptest::collection::vec((-400.0f64..400.0, -200.0f64..200.0), 0..12)) {
            if let Ok(s) = parse_rule(ring(&points).as_bytes())
                && let Ok((_, polygons)) = validate(&s, &partner(), &owner(), &users())
            {
                let p = polygons.first().unwrap();
                prop_assert!(Polygon::new(p.vertices().to_vec()).is_ok());
                prop_assert!(p.vertices().iter().all(|v| v.lat.abs() <= 90.0 && v.lon.abs() <= 180.0));
            }
        }
    }
}
