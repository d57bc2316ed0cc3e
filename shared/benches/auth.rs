//! What authorising a request costs: verifying an access token (HS256 JWT, claims only, no
//! store read), against verifying the per-line tool credential (our HMAC token) as the
//! baseline in the same run; and what a login costs: one Argon2id verification at the stored
//! parameters (m = 19 MiB, t = 2, p = 1), and one hash (sign-up, password change).
//!
//! `cargo bench -p hostline-shared --bench auth` (a plain binary: it prints the figures).

use hostline_shared::auth::jwt::{self, Claims, Permission, Role};
use hostline_shared::auth::password;
use hostline_shared::credential::ToolCredential;
use hostline_shared::ids::BusinessId;
use hostline_shared::phone::PhoneE164;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn per_op(n: u32, mut f: impl FnMut()) -> Duration {
    for _ in 0..n / 10 {
        f();
    }
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed() / n
}

fn main() {
    let key = b"bench-jwt-key-of-a-reasonable-length";
    let now = 1_800_000_000;
    let biz = |s: &str| BusinessId::parse(s).unwrap();
    let claims = Claims::new(
        "u_0123456789abcdef",
        Role::Owner,
        vec![biz("boba"), biz("thai"), biz("pizza")],
        Permission::OWNER.to_vec(),
        3,
        now,
    );
    let token = jwt::issue(&claims, key).unwrap();
    let credential = ToolCredential::issue(
        biz("boba"),
        PhoneE164::parse_e164("+14155550188").unwrap(),
        now,
    )
    .sign(key)
    .unwrap();

    let n = 20_000;
    let jwt_verify = per_op(n, || {
        black_box(jwt::verify(black_box(&token), key, now + 1).unwrap());
    });
    let cred_verify = per_op(n, || {
        black_box(ToolCredential::verify(black_box(&credential), key, now + 1).unwrap());
    });
    let jwt_issue = per_op(n, || {
        black_box(jwt::issue(black_box(&claims), key).unwrap());
    });
    let hash = password::hash("a fine long password", &[7; password::SALT_LEN]);
    let logins = 10;
    let verify = per_op(logins, || {
        black_box(password::verify(black_box("a fine long password"), &hash));
    });
    let hashing = per_op(logins, || {
        black_box(password::hash(
            black_box("a fine long password"),
            &[9; password::SALT_LEN],
        ));
    });
    println!("operation                                   per op     vs tool credential");
    println!(
        "tool credential verify (HMAC, baseline)  {:>9.2?}     1.00x",
        cred_verify
    );
    println!(
        "access token verify (JWT HS256)          {:>9.2?}     {:.2}x",
        jwt_verify,
        jwt_verify.as_secs_f64() / cred_verify.as_secs_f64()
    );
    println!(
        "access token issue                       {:>9.2?}     {:.2}x",
        jwt_issue,
        jwt_issue.as_secs_f64() / cred_verify.as_secs_f64()
    );
    println!("password verify (login; Argon2id m=19456 KiB t=2 p=1)  {verify:>9.2?}");
    println!("password hash (sign-up, change)                        {hashing:>9.2?}");
}
