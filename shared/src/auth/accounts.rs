//! Accounts and sessions: owners (email + password), staff (phone + PIN at one business),
//! sign-up, login with throttling, refresh-token rotation with reuse detection, logout and
//! revocation.
//!
//! Storage (keys in [`crate::store::keys`]):
//! - `user/{id}` the [`User`]; `user-email/{sha256(email)}` → its id (the commit point of a
//!   sign-up: the user record is written first, under a fresh random id, and becomes reachable
//!   only when this index entry is created with compare-and-swap).
//! - `biz/{b}/staff/{id}` a [`Staff`] member; `biz/{b}/staff-phone/{e164}` → the id.
//! - `refresh/{sha256(token)}` one refresh token; `refresh-family/{id}` the family every
//!   rotation of one login shares. Presenting a spent refresh token revokes its family: whoever
//!   stole a token and whoever it was stolen from are both logged out.
//! - `throttle/{scope}/{digest}` failure counters, per account and per client address, kept
//!   for unknown accounts too, so a lockout says nothing about whether an account exists.

use super::jwt::{self, Claims, JwtError, Permission, Role};
use super::password;
use super::tokens::{self, Entropy, TokenKind};
use crate::ids::BusinessId;
use crate::phone::PhoneE164;
use crate::store::{Store, StoreError, keys};
use crate::tenancy::{
    BusinessRecord, put_json, read_all, read_json, read_json_versioned, to_json, update_json,
};
use serde::{Deserialize, Serialize};

/// How long a refresh token (and so a login) lasts without use.
pub const REFRESH_TTL_SECONDS: i64 = 30 * 24 * 60 * 60;
/// Failed logins of one account within [`FAILURE_WINDOW_SECONDS`] before it is locked.
pub const ACCOUNT_FAILURES: u32 = 5;
/// Failed logins from one client address within the window before it is locked.
pub const ADDRESS_FAILURES: u32 = 30;
pub const FAILURE_WINDOW_SECONDS: i64 = 15 * 60;
/// How long a lock lasts.
pub const LOCKOUT_SECONDS: i64 = 15 * 60;

/// An owner or admin account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    /// Normalized: trimmed, lower case.
    pub email: String,
    pub name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub role: Role,
    /// The businesses this user owns, in the order they were added.
    #[serde(default)]
    pub businesses: Vec<BusinessId>,
    /// Bumped to revoke every token issued before.
    #[serde(default)]
    pub token_version: u32,
    pub created_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
}

/// A staff member of one business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staff {
    pub id: String,
    pub business: BusinessId,
    pub name: String,
    pub phone: PhoneE164,
    /// Argon2id PHC string of the PIN.
    pub pin_hash: String,
    pub permissions: Vec<Permission>,
    #[serde(default)]
    pub token_version: u32,
    pub active: bool,
    pub created_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
}

impl User {
    /// The claims of an access token for this user.
    pub fn claims(&self, now: i64) -> Claims {
        let (businesses, permissions) = match self.role {
            Role::Admin => (Vec::new(), Permission::OWNER.to_vec()),
            Role::Owner | Role::Staff => (self.businesses.clone(), Permission::OWNER.to_vec()),
        };
        Claims::new(
            &self.id,
            self.role,
            businesses,
            permissions,
            self.token_version,
            now,
        )
    }

    /// What the API shows of a user (never the hash).
    pub fn public(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "role": self.role.as_str(),
            "businesses": self.businesses,
            "created_at": self.created_at,
        })
    }
}

impl Staff {
    pub fn claims(&self, now: i64) -> Claims {
        Claims::new(
            &self.id,
            Role::Staff,
            vec![self.business.clone()],
            self.permissions.clone(),
            self.token_version,
            now,
        )
    }

    /// What the API shows of a staff member (never the PIN hash).
    pub fn public(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "business_id": self.business,
            "name": self.name,
            "phone": self.phone.as_str(),
            "permissions": self.permissions,
            "active": self.active,
            "created_at": self.created_at,
        })
    }
}

/// One refresh token, stored under its digest.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RefreshRecord {
    sub: String,
    /// Set for a staff member's token: the business their record is under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    business: Option<BusinessId>,
    family: String,
    /// The account's token version when issued; a bump since makes it invalid.
    tv: u32,
    expires_at: i64,
    spent: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Family {
    sub: String,
    revoked: bool,
}

/// Failure counter of one throttle scope.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Failures {
    count: u32,
    window_start: i64,
    #[serde(default)]
    locked_until: Option<i64>,
}

/// What a successful login or refresh answers.
#[derive(Debug, Clone, Serialize)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Said the same way whichever part was wrong.
    #[error("the email or password is not right")]
    BadCredentials,
    #[error("the phone number or PIN is not right")]
    BadPin,
    #[error("too many failed attempts; try again later")]
    Throttled { retry_after: i64 },
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("this business id is taken; choose another")]
    BusinessTaken,
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("the refresh token is not valid (expired, revoked or already used)")]
    BadRefresh,
    #[error("jwt_key is not configured")]
    NoKey,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<JwtError> for AuthError {
    fn from(e: JwtError) -> Self {
        match e {
            JwtError::NoKey => AuthError::NoKey,
            JwtError::Invalid | JwtError::Expired => AuthError::BadRefresh,
        }
    }
}

/// Trimmed, lower-case email, or why it is not one.
pub fn normalize_email(raw: &str) -> Result<String, AuthError> {
    let email = raw.trim().to_lowercase();
    let invalid = |m: &str| AuthError::Invalid {
        field: "email",
        message: m.to_owned(),
    };
    if email.len() > 254 {
        return Err(invalid("must be at most 254 characters"));
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(invalid("must be an email address (name@example.com)"));
    };
    let ok = !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(email)
    } else {
        Err(invalid("must be an email address (name@example.com)"))
    }
}

/// A display name: trimmed, 1 to 100 characters, no control characters.
pub fn normalize_name(raw: &str, field: &'static str) -> Result<String, AuthError> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > 100 || name.chars().any(char::is_control) {
        return Err(AuthError::Invalid {
            field,
            message: "must be 1 to 100 characters without control characters".into(),
        });
    }
    Ok(name.to_owned())
}

/// A new owner account, and a first session for it.
pub async fn signup<S: Store>(
    store: &S,
    jwt_key: &[u8],
    email: &str,
    password: &str,
    name: &str,
    now: jiff::Timestamp,
    entropy: &mut impl Entropy,
) -> Result<(User, TokenPair), AuthError> {
    if jwt_key.is_empty() {
        return Err(AuthError::NoKey);
    }
    let email = normalize_email(email)?;
    let name = normalize_name(name, "name")?;
    if let Some(problem) = password::password_problem(password) {
        return Err(AuthError::Invalid {
            field: "password",
            message: problem,
        });
    }
    let index = keys::user_email(&tokens::digest(&email));
    if store.get_value(&index).await?.is_some() {
        return Err(AuthError::EmailTaken);
    }
    let user = User {
        id: tokens::new_id("u_", entropy),
        email,
        name,
        password_hash: password::hash(password, &tokens::random(entropy)),
        role: Role::Owner,
        businesses: Vec::new(),
        token_version: 0,
        created_at: now,
        updated_at: now,
    };
    put_json(store, &keys::user(&user.id), &user).await?;
    // The commit point: the account exists once its email points at it.
    match store
        .compare_and_swap(&index, None, user.id.as_bytes())
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            let _ = store.delete(&keys::user(&user.id)).await;
            return Err(AuthError::EmailTaken);
        }
        Err(e) => return Err(e.into()),
    }
    let pair = issue_pair(
        store,
        jwt_key,
        &Account::User(user.clone()),
        None,
        now,
        entropy,
    )
    .await?;
    Ok((user, pair))
}

/// The user an email belongs to.
pub async fn user_by_email<S: Store>(store: &S, email: &str) -> Result<Option<User>, AuthError> {
    let Ok(email) = normalize_email(email) else {
        return Ok(None);
    };
    let Some(id) = store
        .get_value(&keys::user_email(&tokens::digest(&email)))
        .await?
    else {
        return Ok(None);
    };
    let id = String::from_utf8_lossy(&id).into_owned();
    Ok(read_json(store, &keys::user(&id)).await?)
}

/// Log in with email and password. `client` is the caller's address (without port), for
/// the per-address throttle.
pub async fn login<S: Store>(
    store: &S,
    jwt_key: &[u8],
    email: &str,
    password: &str,
    client: Option<&str>,
    now: jiff::Timestamp,
    entropy: &mut impl Entropy,
) -> Result<TokenPair, AuthError> {
    if jwt_key.is_empty() {
        return Err(AuthError::NoKey);
    }
    let normalized = email.trim().to_lowercase();
    let attempt = Attempt::new("login", &normalized, client);
    attempt.check(store, now).await?;
    let user = user_by_email(store, &normalized).await?;
    attempt
        .finish(
            store,
            user.map(Account::User),
            password,
            AuthError::BadCredentials,
            jwt_key,
            now,
            entropy,
        )
        .await
}

/// Log a staff member in with their phone and PIN at one business.
#[allow(clippy::too_many_arguments)]
pub async fn staff_login<S: Store>(
    store: &S,
    jwt_key: &[u8],
    business: &BusinessId,
    phone: &PhoneE164,
    pin: &str,
    client: Option<&str>,
    now: jiff::Timestamp,
    entropy: &mut impl Entropy,
) -> Result<TokenPair, AuthError> {
    if jwt_key.is_empty() {
        return Err(AuthError::NoKey);
    }
    let attempt = Attempt::new("staff-login", &format!("{business}/{phone}"), client);
    attempt.check(store, now).await?;
    let staff = staff_by_phone(store, business, phone)
        .await?
        .filter(|s| s.active);
    attempt
        .finish(
            store,
            staff.map(Account::Staff),
            pin,
            AuthError::BadPin,
            jwt_key,
            now,
            entropy,
        )
        .await
}

/// The staff member with this phone at `business`.
pub async fn staff_by_phone<S: Store>(
    store: &S,
    business: &BusinessId,
    phone: &PhoneE164,
) -> Result<Option<Staff>, AuthError> {
    let Some(id) = store.get_value(&keys::staff_phone(business, phone)).await? else {
        return Ok(None);
    };
    let id = String::from_utf8_lossy(&id).into_owned();
    Ok(read_json(store, &keys::staff(business, &id)).await?)
}

/// Most businesses one owner may have (every one is named in their access tokens).
pub const MAX_BUSINESSES_PER_USER: usize = 50;

/// A new business owned by `user_id`, created inactive and without a menu (import one, then
/// switch it on). The business record, created with compare-and-swap, claims the id; adding
/// it to the user's list is the commit point that makes it theirs in their next token. A
/// retry after a failure in between finds its own claim and finishes.
pub async fn create_business<S: Store>(
    store: &S,
    user_id: &str,
    id: &BusinessId,
    name: &str,
    now: jiff::Timestamp,
) -> Result<(BusinessRecord, User), AuthError> {
    let name = normalize_name(name, "name")?;
    let Some(user) = read_json::<_, User>(store, &keys::user(user_id)).await? else {
        return Err(AuthError::BadRefresh);
    };
    if !user.businesses.contains(id) && user.businesses.len() >= MAX_BUSINESSES_PER_USER {
        return Err(AuthError::Invalid {
            field: "id",
            message: format!("an account may own at most {MAX_BUSINESSES_PER_USER} businesses"),
        });
    }
    let record = BusinessRecord {
        id: id.clone(),
        name: Some(name),
        owner: Some(user.id.clone()),
        active: false,
        lines: Vec::new(),
        revision: 0,
        transfer_to: None,
        balance_seconds: None,
        published: None,
        retired: None,
        recent_charges: Vec::new(),
        settings: Default::default(),
        created_at: now,
        updated_at: now,
    };
    let key = keys::business(id);
    let bytes = to_json(&record)?;
    let record = match store.compare_and_swap(&key, None, &bytes).await {
        Ok(()) => record,
        Err(StoreError::Conflict) => match read_json::<_, BusinessRecord>(store, &key).await? {
            Some(existing) if existing.owner.as_deref() == Some(&user.id) => existing,
            _ => return Err(AuthError::BusinessTaken),
        },
        Err(e) => return Err(e.into()),
    };
    let user = update_json::<_, User, _>(store, &keys::user(&user.id), |u| {
        let mut u = u?;
        if !u.businesses.contains(id) {
            u.businesses.push(id.clone());
            u.updated_at = now;
        }
        Some(u)
    })
    .await?
    .ok_or(AuthError::BadRefresh)?;
    Ok((record, user))
}

/// A new staff member at `business` with a phone and PIN. The phone index entry is the
/// commit point, so one phone is one staff member per business.
#[allow(clippy::too_many_arguments)]
pub async fn add_staff<S: Store>(
    store: &S,
    business: &BusinessId,
    name: &str,
    phone: PhoneE164,
    pin: &str,
    permissions: Vec<Permission>,
    now: jiff::Timestamp,
    entropy: &mut impl Entropy,
) -> Result<Staff, AuthError> {
    let name = normalize_name(name, "name")?;
    if let Some(problem) = password::pin_problem(pin) {
        return Err(AuthError::Invalid {
            field: "pin",
            message: problem,
        });
    }
    if let Some(p) = permissions
        .iter()
        .find(|p| !Permission::STAFF_MAY.contains(p))
    {
        return Err(AuthError::Invalid {
            field: "permissions",
            message: format!("{} is for owners only", p.as_str()),
        });
    }
    let index = keys::staff_phone(business, &phone);
    if store.get_value(&index).await?.is_some() {
        return Err(AuthError::Invalid {
            field: "phone",
            message: "a staff member with this phone number already exists".into(),
        });
    }
    let staff = Staff {
        id: tokens::new_id("s_", entropy),
        business: business.clone(),
        name,
        phone,
        pin_hash: password::hash(pin, &tokens::random(entropy)),
        permissions,
        token_version: 0,
        active: true,
        created_at: now,
        updated_at: now,
    };
    let key = keys::staff(business, &staff.id);
    put_json(store, &key, &staff).await?;
    match store
        .compare_and_swap(&index, None, staff.id.as_bytes())
        .await
    {
        Ok(()) => Ok(staff),
        Err(StoreError::Conflict) => {
            let _ = store.delete(&key).await;
            Err(AuthError::Invalid {
                field: "phone",
                message: "a staff member with this phone number already exists".into(),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// Remove a staff member: the phone index first (no new logins), then the record (its
/// refresh tokens then lead nowhere). Their access tokens end within
/// [`jwt::ACCESS_TTL_SECONDS`]. Returns whether there was one.
pub async fn remove_staff<S: Store>(
    store: &S,
    business: &BusinessId,
    staff_id: &str,
) -> Result<bool, AuthError> {
    let key = keys::staff(business, staff_id);
    let Some(staff) = read_json::<_, Staff>(store, &key).await? else {
        return Ok(false);
    };
    store
        .delete(&keys::staff_phone(business, &staff.phone))
        .await?;
    store.delete(&key).await?;
    Ok(true)
}

/// The staff of a business, by id.
pub async fn list_staff<S: Store>(
    store: &S,
    business: &BusinessId,
) -> Result<Vec<Staff>, AuthError> {
    Ok(read_all(store, &keys::staff(business, "")).await?)
}

/// Trade a refresh token for a new pair. The old token is spent; presenting it again revokes
/// its whole family.
pub async fn refresh<S: Store>(
    store: &S,
    jwt_key: &[u8],
    refresh_token: &str,
    now: jiff::Timestamp,
    entropy: &mut impl Entropy,
) -> Result<TokenPair, AuthError> {
    if jwt_key.is_empty() {
        return Err(AuthError::NoKey);
    }
    if !tokens::well_formed(TokenKind::Refresh, refresh_token) {
        return Err(AuthError::BadRefresh);
    }
    let key = keys::refresh(&tokens::digest(refresh_token));
    let Some((record, version)) = read_json_versioned::<_, RefreshRecord>(store, &key).await?
    else {
        return Err(AuthError::BadRefresh);
    };
    let family_key = keys::refresh_family(&record.family);
    match read_json::<_, Family>(store, &family_key).await? {
        Some(f) if !f.revoked => {}
        _ => return Err(AuthError::BadRefresh),
    }
    if record.spent {
        eprintln!(
            "auth: a spent refresh token was presented again; revoking its family {}",
            record.family
        );
        revoke_family(store, &record.family).await?;
        return Err(AuthError::BadRefresh);
    }
    if now.as_second() >= record.expires_at {
        return Err(AuthError::BadRefresh);
    }
    let account = match &record.business {
        None => read_json::<_, User>(store, &keys::user(&record.sub))
            .await?
            .map(Account::User),
        Some(b) => read_json::<_, Staff>(store, &keys::staff(b, &record.sub))
            .await?
            .filter(|s| s.active)
            .map(Account::Staff),
    };
    let Some(account) = account else {
        return Err(AuthError::BadRefresh);
    };
    if account.token_version() != record.tv {
        return Err(AuthError::BadRefresh);
    }
    // The new token is stored before the old one is spent: if spending fails, the new one
    // was never handed out and leads nowhere.
    let (pair, new_key) = mint_pair(
        store,
        jwt_key,
        &account,
        Some(record.family.clone()),
        now,
        entropy,
    )
    .await?;
    let spent = RefreshRecord {
        spent: true,
        ..record.clone()
    };
    let bytes = to_json(&spent)?;
    match store.compare_and_swap(&key, Some(version), &bytes).await {
        Ok(()) => Ok(pair),
        Err(StoreError::Conflict) => {
            // Two refreshes with one token at once: one of them is a replay.
            let _ = store.delete(&new_key).await;
            revoke_family(store, &record.family).await?;
            Err(AuthError::BadRefresh)
        }
        Err(e) => {
            let _ = store.delete(&new_key).await;
            Err(e.into())
        }
    }
}

/// End the session a refresh token belongs to (its whole family). Idempotent; an unknown
/// token is not an error (there is nothing left to end).
pub async fn logout<S: Store>(store: &S, refresh_token: &str) -> Result<(), AuthError> {
    if !tokens::well_formed(TokenKind::Refresh, refresh_token) {
        return Err(AuthError::BadRefresh);
    }
    let key = keys::refresh(&tokens::digest(refresh_token));
    if let Some(record) = read_json::<_, RefreshRecord>(store, &key).await? {
        revoke_family(store, &record.family).await?;
    }
    Ok(())
}

/// Revoke every token of a user issued so far (access and refresh): bumps the token version.
pub async fn revoke_all_of_user<S: Store>(
    store: &S,
    user_id: &str,
    now: jiff::Timestamp,
) -> Result<Option<User>, AuthError> {
    Ok(update_json::<_, User, _>(store, &keys::user(user_id), |u| {
        u.map(|mut u| {
            u.token_version = u.token_version.wrapping_add(1);
            u.updated_at = now;
            u
        })
    })
    .await?)
}

/// A user or a staff member: whoever a session is for.
#[derive(Debug, Clone)]
pub enum Account {
    User(User),
    Staff(Staff),
}

impl Account {
    fn sub(&self) -> &str {
        match self {
            Account::User(u) => &u.id,
            Account::Staff(s) => &s.id,
        }
    }

    /// The Argon2id hash a login checks: the password, or the PIN.
    fn secret_hash(&self) -> &str {
        match self {
            Account::User(u) => &u.password_hash,
            Account::Staff(s) => &s.pin_hash,
        }
    }

    fn token_version(&self) -> u32 {
        match self {
            Account::User(u) => u.token_version,
            Account::Staff(s) => s.token_version,
        }
    }

    fn claims(&self, now: i64) -> Claims {
        match self {
            Account::User(u) => u.claims(now),
            Account::Staff(s) => s.claims(now),
        }
    }
}

/// A new access token and refresh token for `account` (in a new family unless one is given).
pub async fn issue_pair<S: Store>(
    store: &S,
    jwt_key: &[u8],
    account: &Account,
    family: Option<String>,
    now: jiff::Timestamp,
    entropy: &mut impl Entropy,
) -> Result<TokenPair, AuthError> {
    Ok(mint_pair(store, jwt_key, account, family, now, entropy)
        .await?
        .0)
}

async fn mint_pair<S: Store>(
    store: &S,
    jwt_key: &[u8],
    account: &Account,
    family: Option<String>,
    now: jiff::Timestamp,
    entropy: &mut impl Entropy,
) -> Result<(TokenPair, String), AuthError> {
    let access_token = jwt::issue(&account.claims(now.as_second()), jwt_key)?;
    let family = match family {
        Some(f) => f,
        None => {
            let f = tokens::new_id("f_", entropy);
            put_json(
                store,
                &keys::refresh_family(&f),
                &Family {
                    sub: account.sub().to_owned(),
                    revoked: false,
                },
            )
            .await?;
            f
        }
    };
    let refresh_token = tokens::mint(TokenKind::Refresh, entropy);
    let key = keys::refresh(&tokens::digest(&refresh_token));
    let record = RefreshRecord {
        sub: account.sub().to_owned(),
        business: match account {
            Account::User(_) => None,
            Account::Staff(s) => Some(s.business.clone()),
        },
        family,
        tv: account.token_version(),
        expires_at: now.as_second() + REFRESH_TTL_SECONDS,
        spent: false,
    };
    put_json(store, &key, &record).await?;
    Ok((
        TokenPair {
            access_token,
            refresh_token,
            token_type: "Bearer",
            expires_in: jwt::ACCESS_TTL_SECONDS,
        },
        key,
    ))
}

async fn revoke_family<S: Store>(store: &S, family: &str) -> Result<(), StoreError> {
    update_json::<_, Family, _>(store, &keys::refresh_family(family), |f| {
        f.filter(|f| !f.revoked)
            .map(|f| Family { revoked: true, ..f })
    })
    .await
    .map(|_| ())
}

/// The two throttle scopes of one login attempt: the account tried (by a digest of what
/// names it, whether or not it exists) and the client's address.
struct Attempt {
    account: String,
    address: Option<String>,
}

impl Attempt {
    fn new(kind: &str, account: &str, client: Option<&str>) -> Attempt {
        Attempt {
            account: keys::throttle(kind, &tokens::digest(account)),
            address: client.map(|a| keys::throttle("login-addr", &tokens::digest(a))),
        }
    }

    /// Refused while either scope is locked.
    async fn check<S: Store>(&self, store: &S, now: jiff::Timestamp) -> Result<(), AuthError> {
        for scope in std::iter::once(&self.account).chain(&self.address) {
            if let Some(until) = locked_until(store, scope, now).await? {
                return Err(AuthError::Throttled {
                    retry_after: until - now.as_second(),
                });
            }
        }
        Ok(())
    }

    async fn failed<S: Store>(&self, store: &S, now: jiff::Timestamp) -> Result<(), AuthError> {
        record_failure(store, &self.account, ACCOUNT_FAILURES, now).await?;
        if let Some(scope) = &self.address {
            record_failure(store, scope, ADDRESS_FAILURES, now).await?;
        }
        Ok(())
    }

    /// Check `secret` against the account found (spending the same time when there is none,
    /// so an unknown account cannot be told by timing), then answer with a session, or count
    /// the failure and answer `refused`. On success the account's failures are forgotten (best
    /// effort); the address keeps its count.
    #[allow(clippy::too_many_arguments)]
    async fn finish<S: Store>(
        &self,
        store: &S,
        found: Option<Account>,
        secret: &str,
        refused: AuthError,
        jwt_key: &[u8],
        now: jiff::Timestamp,
        entropy: &mut impl Entropy,
    ) -> Result<TokenPair, AuthError> {
        let ok = match &found {
            Some(a) => password::verify(secret, a.secret_hash()),
            None => {
                password::verify_nothing(secret);
                false
            }
        };
        match found {
            Some(account) if ok => {
                let _ = store.delete(&self.account).await;
                issue_pair(store, jwt_key, &account, None, now, entropy).await
            }
            _ => {
                self.failed(store, now).await?;
                Err(refused)
            }
        }
    }
}

/// When the lock on a throttle scope ends, if it is locked now.
pub async fn locked_until<S: Store>(
    store: &S,
    scope: &str,
    now: jiff::Timestamp,
) -> Result<Option<i64>, StoreError> {
    Ok(read_json::<_, Failures>(store, scope)
        .await?
        .and_then(|f| f.locked_until)
        .filter(|until| now.as_second() < *until))
}

/// Count one failure in a throttle scope; the `limit`-th within the window locks it for
/// [`LOCKOUT_SECONDS`].
pub async fn record_failure<S: Store>(
    store: &S,
    scope: &str,
    limit: u32,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    let now = now.as_second();
    update_json::<_, Failures, _>(store, scope, |f| {
        let mut f = f.unwrap_or_default();
        if now - f.window_start >= FAILURE_WINDOW_SECONDS {
            f = Failures {
                count: 0,
                window_start: now,
                locked_until: None,
            };
        }
        f.count = f.count.saturating_add(1);
        if f.count >= limit {
            f.locked_until = Some(now + LOCKOUT_SECONDS);
        }
        Some(f)
    })
    .await
    .map(|_| ())
}
