//! Accounts over the in-memory store: sign-up, login, throttling, refresh rotation with reuse
//! detection, logout, revocation by token version, and staff PIN login.

use futures::executor::block_on;
use hostline_shared::auth::accounts::{self, AuthError, TokenPair};
use hostline_shared::auth::jwt::{self, Permission, Role};
use hostline_shared::ids::BusinessId;
use hostline_shared::phone::PhoneE164;
use hostline_shared::store::{FaultyStore, MemoryStore};

const KEY: &[u8] = b"test-jwt-key";

fn t(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

fn now() -> jiff::Timestamp {
    t("2026-12-01T12:00:00Z")
}

/// Deterministic bytes, different on every call.
fn entropy() -> impl FnMut(&mut [u8]) {
    let mut n: u64 = 0;
    move |buf: &mut [u8]| {
        for b in buf {
            n = n
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *b = (n >> 33) as u8;
        }
    }
}

fn signup(store: &MemoryStore, email: &str) -> TokenPair {
    block_on(accounts::signup(
        store,
        KEY,
        email,
        "a long enough password",
        "Ana Owner",
        now(),
        &mut entropy(),
    ))
    .unwrap()
    .1
}

fn login(store: &MemoryStore, email: &str, password: &str) -> Result<TokenPair, AuthError> {
    block_on(accounts::login(
        store,
        KEY,
        email,
        password,
        Some("10.0.0.1"),
        now(),
        &mut entropy(),
    ))
}

#[test]
fn signup_then_login_gives_owner_claims() {
    let s = MemoryStore::new();
    let pair = signup(&s, "Ana@Example.com ");
    let claims = jwt::verify(&pair.access_token, KEY, now().as_second()).unwrap();
    assert_eq!(claims.role, Role::Owner);
    assert!(claims.sub.starts_with("u_"));
    assert!(claims.businesses.is_empty());
    // The email is normalized: another case is the same account.
    let again = block_on(accounts::signup(
        &s,
        KEY,
        "ana@example.COM",
        "another long password",
        "Ana",
        now(),
        &mut entropy(),
    ));
    assert!(matches!(again, Err(AuthError::EmailTaken)), "{again:?}");
    let pair = login(&s, "ANA@example.com", "a long enough password").unwrap();
    let c = jwt::verify(&pair.access_token, KEY, now().as_second()).unwrap();
    assert_eq!(c.sub, claims.sub);
    assert_eq!(pair.expires_in, jwt::ACCESS_TTL_SECONDS);
}

#[test]
fn bad_input_names_the_field() {
    let s = MemoryStore::new();
    let field = |email: &str, pw: &str, name: &str| match block_on(accounts::signup(
        &s,
        KEY,
        email,
        pw,
        name,
        now(),
        &mut entropy(),
    )) {
        Err(AuthError::Invalid { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        field("not-an-email", "a long enough password", "A"),
        "email"
    );
    assert_eq!(field("a@b", "a long enough password", "A"), "email");
    assert_eq!(field("a@b.co", "short", "A"), "password");
    assert_eq!(field("a@b.co", "a long enough password", "  "), "name");
}

#[test]
fn wrong_password_and_unknown_email_look_the_same_and_lock_after_five() {
    let s = MemoryStore::new();
    signup(&s, "ana@example.com");
    let unknown = login(&s, "nobody@example.com", "whatever password");
    let wrong = login(&s, "ana@example.com", "not the password");
    assert_eq!(
        unknown.unwrap_err().to_string(),
        wrong.unwrap_err().to_string()
    );
    for _ in 0..4 {
        assert!(matches!(
            login(&s, "ana@example.com", "not the password"),
            Err(AuthError::BadCredentials)
        ));
    }
    // Six failures: the account is locked, even for the right password, for a while.
    match login(&s, "ana@example.com", "a long enough password") {
        Err(AuthError::Throttled { retry_after }) => {
            assert!(retry_after > 0 && retry_after <= accounts::LOCKOUT_SECONDS)
        }
        other => panic!("{other:?}"),
    }
    // An unknown email locks the same way (a lock says nothing about an account existing).
    for _ in 0..5 {
        let _ = login(&s, "nobody@example.com", "whatever password");
    }
    assert!(matches!(
        login(&s, "nobody@example.com", "whatever password"),
        Err(AuthError::Throttled { .. })
    ));
    // After the lock, the right password works again.
    let later = t("2026-12-01T12:16:00Z");
    block_on(accounts::login(
        &s,
        KEY,
        "ana@example.com",
        "a long enough password",
        Some("10.0.0.2"),
        later,
        &mut entropy(),
    ))
    .unwrap();
}

#[test]
fn one_address_trying_many_accounts_is_throttled() {
    let s = MemoryStore::new();
    signup(&s, "ana@example.com");
    for i in 0..accounts::ADDRESS_FAILURES {
        let _ = login(&s, &format!("guess{i}@example.com"), "whatever password");
    }
    assert!(matches!(
        login(&s, "ana@example.com", "a long enough password"),
        Err(AuthError::Throttled { .. })
    ));
    // Another address is not affected.
    block_on(accounts::login(
        &s,
        KEY,
        "ana@example.com",
        "a long enough password",
        Some("10.0.0.9"),
        now(),
        &mut entropy(),
    ))
    .unwrap();
}

fn refresh(s: &MemoryStore, token: &str) -> Result<TokenPair, AuthError> {
    block_on(accounts::refresh(s, KEY, token, now(), &mut entropy()))
}

#[test]
fn refresh_rotates_and_a_reused_token_revokes_the_family() {
    let s = MemoryStore::new();
    let first = signup(&s, "ana@example.com");
    let second = refresh(&s, &first.refresh_token).unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    let third = refresh(&s, &second.refresh_token).unwrap();
    // The spent first token is presented again (stolen): refused, and the family revoked,
    // so the newest token of that login stops working too.
    assert!(matches!(
        refresh(&s, &first.refresh_token),
        Err(AuthError::BadRefresh)
    ));
    assert!(matches!(
        refresh(&s, &third.refresh_token),
        Err(AuthError::BadRefresh)
    ));
    // Another login is another family, unaffected.
    let other = login(&s, "ana@example.com", "a long enough password").unwrap();
    refresh(&s, &other.refresh_token).unwrap();
    // Garbage and expired tokens are refused.
    assert!(matches!(
        refresh(&s, "hlr_nope"),
        Err(AuthError::BadRefresh)
    ));
    let late = t("2027-01-15T12:00:00Z");
    let fresh = login(&s, "ana@example.com", "a long enough password").unwrap();
    assert!(matches!(
        block_on(accounts::refresh(
            &s,
            KEY,
            &fresh.refresh_token,
            late,
            &mut entropy()
        )),
        Err(AuthError::BadRefresh)
    ));
}

#[test]
fn logout_ends_the_session_and_a_version_bump_ends_them_all() {
    let s = MemoryStore::new();
    let a = signup(&s, "ana@example.com");
    let b = login(&s, "ana@example.com", "a long enough password").unwrap();
    block_on(accounts::logout(&s, &a.refresh_token)).unwrap();
    assert!(refresh(&s, &a.refresh_token).is_err());
    let b2 = refresh(&s, &b.refresh_token).unwrap();
    let sub = jwt::verify(&b2.access_token, KEY, now().as_second())
        .unwrap()
        .sub;
    let user = block_on(accounts::revoke_all_of_user(&s, &sub, now()))
        .unwrap()
        .unwrap();
    assert_eq!(user.token_version, 1);
    assert!(refresh(&s, &b2.refresh_token).is_err());
}

#[test]
fn a_failed_write_mid_refresh_leaves_the_old_token_usable() {
    let inner = MemoryStore::new();
    let pair = signup(&inner, "ana@example.com");
    let s = FaultyStore::new(inner);
    // Every write of a refresh from the k-th on fails: the refresh fails, and afterwards
    // (healed) the original token still works. The last round (k past the refresh's last
    // write) goes through, which also proves no earlier failure spent or revoked it.
    for k in 1..=4 {
        s.fail_from(k);
        let r = block_on(accounts::refresh(
            &s,
            KEY,
            &pair.refresh_token,
            now(),
            &mut entropy(),
        ));
        let writes = s.writes();
        s.heal();
        if r.is_ok() {
            assert!(k > 2, "a refresh failed at write {k} and still answered");
            return;
        }
        assert!(writes >= k, "the refresh failed before write {k}: {r:?}");
    }
    panic!("a refresh needs at most 3 writes");
}

#[test]
fn staff_log_in_with_a_pin_for_their_business_only() {
    let s = MemoryStore::new();
    let boba = BusinessId::parse("boba").unwrap();
    let thai = BusinessId::parse("thai").unwrap();
    let phone = PhoneE164::parse_e164("+14155550100").unwrap();
    let staff = block_on(accounts::add_staff(
        &s,
        &boba,
        "Kim",
        phone.clone(),
        "4821",
        Permission::STAFF.to_vec(),
        now(),
        &mut entropy(),
    ))
    .unwrap();
    let dup = block_on(accounts::add_staff(
        &s,
        &boba,
        "Kim again",
        phone.clone(),
        "4822",
        Permission::STAFF.to_vec(),
        now(),
        &mut entropy(),
    ));
    assert!(
        matches!(dup, Err(AuthError::Invalid { field: "phone", .. })),
        "{dup:?}"
    );
    let owner_only = block_on(accounts::add_staff(
        &s,
        &boba,
        "Lee",
        PhoneE164::parse_e164("+14155550101").unwrap(),
        "4821",
        vec![Permission::StaffManage],
        now(),
        &mut entropy(),
    ));
    assert!(matches!(
        owner_only,
        Err(AuthError::Invalid {
            field: "permissions",
            ..
        })
    ));
    let staff_login = |b: &BusinessId, pin: &str| {
        block_on(accounts::staff_login(
            &s,
            KEY,
            b,
            &phone,
            pin,
            Some("10.0.0.1"),
            now(),
            &mut entropy(),
        ))
    };
    let pair = staff_login(&boba, "4821").unwrap();
    let c = jwt::verify(&pair.access_token, KEY, now().as_second()).unwrap();
    assert_eq!(c.role, Role::Staff);
    assert_eq!(c.sub, staff.id);
    assert_eq!(c.businesses, vec![boba.clone()]);
    assert!(c.allows(&boba, Permission::OrdersWrite));
    assert!(!c.allows(&boba, Permission::BusinessWrite));
    assert!(!c.allows(&thai, Permission::OrdersRead));
    // The same phone at another business is nobody.
    assert!(matches!(staff_login(&thai, "4821"), Err(AuthError::BadPin)));
    // A staff refresh keeps the staff claims.
    let r = refresh(&s, &pair.refresh_token).unwrap();
    let c = jwt::verify(&r.access_token, KEY, now().as_second()).unwrap();
    assert_eq!((c.role, c.businesses), (Role::Staff, vec![boba.clone()]));
    // Short PINs lock after five wrong tries.
    for _ in 0..5 {
        assert!(matches!(staff_login(&boba, "0000"), Err(AuthError::BadPin)));
    }
    assert!(matches!(
        staff_login(&boba, "4821"),
        Err(AuthError::Throttled { .. })
    ));
    // Removed staff can neither log in nor refresh.
    assert!(block_on(accounts::remove_staff(&s, &boba, &staff.id)).unwrap());
    assert!(refresh(&s, &r.refresh_token).is_err());
}
