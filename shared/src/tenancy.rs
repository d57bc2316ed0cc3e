//! Who a request belongs to, and what a business has published. A webhook's tenant comes only
//! from the called line in a verified message (or Vapi's id for that line, mapped by an
//! operator or learned from an earlier verified message), never from a body field a caller chose.
//!
//! Records (see [`crate::store::keys`]):
//! - `line/{e164}` → business id (the global, unique line index);
//! - `biz/{id}/business` → [`BusinessRecord`] (status, lines owned);
//! - `biz/{id}/restaurant/r{rev}-{digest}` → the [`Restaurant`] document (export, assistant
//!   prompt), and `biz/{id}/knowledge/r{rev}-{digest}` → [`Published`]: the restaurant plus its
//!   knowledge index, everything a tool call needs in one read. The record points at the
//!   committed revision of both (see [`crate::publish`]).

use crate::calls::remember;
use crate::ids::BusinessId;
use crate::knowledge::KnowledgeIndex;
use crate::phone::PhoneE164;
use crate::publish::{LineClaim, PublishedKeys};
use crate::restaurant::Restaurant;
use crate::store::{Store, StoreError, Version, keys};
use serde::{Deserialize, Serialize};

/// Bookkeeping for one business.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusinessRecord {
    pub id: BusinessId,
    /// The business's name (from its restaurant document, or given when it was created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The user who owns it (`None` for businesses the operator created by import).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Inactive businesses keep their data but their lines answer with a polite refusal.
    pub active: bool,
    /// The lines this business owns in the global line index.
    pub lines: Vec<PhoneE164>,
    /// Incremented on every import of the restaurant document.
    pub revision: u64,
    /// The staff line callers are transferred to (DTMF 0 or on request); `None` = no transfers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_to: Option<PhoneE164>,
    /// Prepaid voice seconds left; `None` = not metered. At zero or below, the Twilio line
    /// stops connecting calls to the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance_seconds: Option<i64>,
    /// Where the committed revision's content is (see [`crate::publish`]); `None` on records
    /// written before content was revisioned, whose content is at the unrevisioned keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<PublishedKeys>,
    /// The content of the revision before, kept so a reader that read the previous record a
    /// moment ago still finds it; deleted by the import after next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired: Option<PublishedKeys>,
    /// The last [`crate::calls::RECENT_CALLS`] calls charged, newest last: the charge and
    /// "this call is charged" are one write of this record ([`BusinessRecord::charge_call`]),
    /// so a usage report retried after a failure part-way is never charged twice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_charges: Vec<String>,
    /// How the voice host sounds and behaves for this business (owner settings).
    #[serde(default, skip_serializing_if = "AssistantSettings::is_default")]
    pub settings: AssistantSettings,
    pub created_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
}

/// Voice providers Vapi accepts for `voice.provider`.
pub const VOICE_PROVIDERS: &[&str] = &[
    "11labs", "azure", "cartesia", "deepgram", "lmnt", "neets", "openai", "playht", "rime-ai",
    "vapi",
];
/// Model providers Vapi accepts for `model.provider` (the ones we offer).
pub const MODEL_PROVIDERS: &[&str] = &["openai", "anthropic", "google", "groq"];
/// Longest greeting and prompt additions.
pub const MAX_GREETING_CHARS: usize = 300;
pub const MAX_PROMPT_ADDITIONS_CHARS: usize = 2_000;

/// A voice: Vapi's provider and the provider's voice id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VoiceChoice {
    pub provider: String,
    pub voice_id: String,
}

/// A language model: Vapi's provider and the model name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelChoice {
    pub provider: String,
    pub model: String,
}

/// The owner's settings for the voice host; each `None` means "our default".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssistantSettings {
    /// Overrides the document's greeting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting: Option<String>,
    /// Appended to the system prompt ("Mention the lunch special on weekdays.").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_additions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<VoiceChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelChoice>,
    /// The knowledge tools the host may use (`None`: all of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled_tools: Option<Vec<String>>,
    /// Taking orders by phone (`None`: on whenever the document offers pickup or delivery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordering: Option<bool>,
    /// Orders taken by phone go straight to the kitchen, accepted, their tickets printed
    /// (`None`: yes); `false` holds them as received until staff accept them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_accept_orders: Option<bool>,
    /// Print a customer receipt beside each kitchen ticket (`None`: no).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub print_receipts: Option<bool>,
}

impl AssistantSettings {
    pub fn is_default(&self) -> bool {
        *self == AssistantSettings::default()
    }

    /// Whether the host takes orders for the restaurant `r`.
    pub fn ordering_on(&self, r: &crate::restaurant::Restaurant) -> bool {
        self.ordering.unwrap_or(true) && (r.fulfillment.pickup || r.fulfillment.delivery)
    }

    /// How an order taken by phone starts: accepted at once unless the owner said not to.
    pub fn placement(&self) -> crate::orders::Placement {
        crate::orders::Placement {
            auto_accept: self.auto_accept_orders.unwrap_or(true),
            receipts: self.print_receipts.unwrap_or(false),
        }
    }

    /// Whether the host may use tool `name`.
    pub fn tool_enabled(&self, name: &str) -> bool {
        self.enabled_tools
            .as_ref()
            .is_none_or(|t| t.iter().any(|n| n == name))
    }
}

/// Why a setting is not acceptable: `(field, message)`.
pub fn setting_problem(
    greeting: Option<&str>,
    prompt_additions: Option<&str>,
    voice: Option<&VoiceChoice>,
    model: Option<&ModelChoice>,
    enabled_tools: Option<&[String]>,
    known_tools: &[&str],
) -> Option<(&'static str, String)> {
    let text = |s: &str, max: usize, multi_line: bool| {
        let n = s.chars().count();
        n == 0
            || n > max
            || s.trim().is_empty()
            || s.chars()
                .any(|c| c.is_control() && !(multi_line && c == '\n'))
    };
    if let Some(g) = greeting
        && text(g, MAX_GREETING_CHARS, false)
    {
        return Some((
            "greeting",
            format!("must be 1 to {MAX_GREETING_CHARS} characters on one line, or null"),
        ));
    }
    if let Some(p) = prompt_additions
        && text(p, MAX_PROMPT_ADDITIONS_CHARS, true)
    {
        return Some((
            "prompt_additions",
            format!("must be 1 to {MAX_PROMPT_ADDITIONS_CHARS} characters, or null"),
        ));
    }
    let id_ok = |s: &str| {
        (1..=100).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_. :/".contains(&b))
    };
    if let Some(v) = voice {
        if !VOICE_PROVIDERS.contains(&v.provider.as_str()) {
            return Some((
                "voice.provider",
                format!("must be one of {}", VOICE_PROVIDERS.join(", ")),
            ));
        }
        if !id_ok(&v.voice_id) {
            return Some((
                "voice.voice_id",
                "must be 1 to 100 letters, digits or - _ . : /".into(),
            ));
        }
    }
    if let Some(m) = model {
        if !MODEL_PROVIDERS.contains(&m.provider.as_str()) {
            return Some((
                "model.provider",
                format!("must be one of {}", MODEL_PROVIDERS.join(", ")),
            ));
        }
        if !id_ok(&m.model) {
            return Some((
                "model.model",
                "must be 1 to 100 letters, digits or - _ . : /".into(),
            ));
        }
    }
    if let Some(tools) = enabled_tools
        && let Some(t) = tools.iter().find(|t| !known_tools.contains(&t.as_str()))
    {
        return Some((
            "enabled_tools",
            format!(
                "{t:?} is not a tool; the tools are {}",
                known_tools.join(", ")
            ),
        ));
    }
    None
}

/// What a tool call reads: the index built from a restaurant document and the rest of the
/// document the answers need, saved together so they can never disagree. Stored in a compact
/// binary form ([`Published::encode`]) that loads several times faster than JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Published {
    pub business_id: BusinessId,
    pub revision: u64,
    /// The document's profile: business, hours, closures, fulfillment and delivery. Its menu
    /// and FAQ are left out (empty): the index carries them, and one copy is enough.
    pub restaurant: Restaurant,
    pub index: KnowledgeIndex,
}

/// The first bytes of a stored bundle, then [`BUNDLE_FORMAT`] (u32, little endian), then the
/// postcard-encoded bundle. A bundle in another format (or the JSON of older releases) is
/// refused by [`Published::decode`] and rebuilt from the document by the reader.
const BUNDLE_MAGIC: &[u8; 4] = b"HLKB";
pub const BUNDLE_FORMAT: u32 = 1;

/// The stored form: postcard cannot encode the document's serde attributes (tagged enums,
/// skipped fields), so the small profile travels as JSON inside it.
#[derive(Serialize, Deserialize)]
struct StoredBundle {
    business_id: BusinessId,
    revision: u64,
    profile: String,
    index: KnowledgeIndex,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("not a bundle of format {BUNDLE_FORMAT}; rebuild it from the document")]
    OtherFormat,
    #[error("bundle does not decode: {0}")]
    Corrupt(String),
}

/// The most prepaid time a business can hold: ten years of talk, far more than anyone buys,
/// and far from where seconds arithmetic could overflow.
pub const MAX_BALANCE_SECONDS: i64 = 10 * 366 * 24 * 60 * 60;

impl BusinessRecord {
    /// Whether a metered business has run out of prepaid time.
    pub fn out_of_balance(&self) -> bool {
        self.balance_seconds.is_some_and(|b| b <= 0)
    }

    /// The longest a call may last: `cap`, or less when the prepaid balance is smaller (a
    /// metered business is never given more talk than it has paid for).
    pub fn max_call_seconds(&self, cap: u32) -> u32 {
        match self.balance_seconds {
            Some(left) => u32::try_from(left.max(0)).unwrap_or(u32::MAX).min(cap),
            None => cap,
        }
    }

    /// Take `seconds` of talk off a metered business's balance. Saturates: a balance that was
    /// stored out of range (by an older version) cannot wrap around.
    pub fn charge(&mut self, seconds: u32) {
        if let Some(left) = self.balance_seconds {
            self.balance_seconds = Some(left.saturating_sub(i64::from(seconds)));
        }
    }

    /// Charge a call once: `false` (and nothing changes) when it was charged already. `call`
    /// is the call's charge key: a Twilio call SID, or [`crate::call_log::VapiCallId::charge_key`].
    pub fn charge_call(&mut self, call: &str, seconds: u32) -> bool {
        if self.recent_charges.iter().any(|c| c == call) {
            return false;
        }
        self.charge(seconds);
        remember(&mut self.recent_charges, call);
        true
    }
}

impl Published {
    pub fn build(business_id: BusinessId, revision: u64, mut restaurant: Restaurant) -> Published {
        let index = KnowledgeIndex::build(&restaurant);
        restaurant.menu.categories.clear();
        restaurant.menu.modifier_groups.clear();
        restaurant.menu.rules.clear();
        restaurant.faq.clear();
        Published {
            business_id,
            revision,
            restaurant,
            index,
        }
    }

    /// The stored bytes: [`BUNDLE_MAGIC`], [`BUNDLE_FORMAT`], postcard.
    pub fn encode(&self) -> Result<Vec<u8>, BundleError> {
        let profile = serde_json::to_string(&self.restaurant)
            .map_err(|e| BundleError::Corrupt(e.to_string()))?;
        let stored = StoredBundle {
            business_id: self.business_id.clone(),
            revision: self.revision,
            profile,
            index: self.index.clone(),
        };
        let mut out = Vec::with_capacity(64 * 1024);
        out.extend_from_slice(BUNDLE_MAGIC);
        out.extend_from_slice(&BUNDLE_FORMAT.to_le_bytes());
        postcard::to_extend(&stored, out).map_err(|e| BundleError::Corrupt(e.to_string()))
    }

    /// Read stored bytes back. Anything but a bundle of this format is
    /// [`BundleError::OtherFormat`]: the reader rebuilds it from the document.
    pub fn decode(bytes: &[u8]) -> Result<Published, BundleError> {
        let Some(body) = bytes
            .strip_prefix(BUNDLE_MAGIC)
            .and_then(|b| b.strip_prefix(&BUNDLE_FORMAT.to_le_bytes()[..]))
        else {
            return Err(BundleError::OtherFormat);
        };
        let stored: StoredBundle =
            postcard::from_bytes(body).map_err(|e| BundleError::Corrupt(e.to_string()))?;
        if !stored.index.is_current() {
            return Err(BundleError::OtherFormat);
        }
        let restaurant = serde_json::from_str(&stored.profile)
            .map_err(|e| BundleError::Corrupt(e.to_string()))?;
        Ok(Published {
            business_id: stored.business_id,
            revision: stored.revision,
            restaurant,
            index: stored.index,
        })
    }
}

/// The outcome of routing a call by the number dialled.
#[derive(Debug, Clone, PartialEq)]
pub enum LineRoute {
    /// The line belongs to an active business.
    Active {
        business: BusinessRecord,
        line: PhoneE164,
    },
    /// The line belongs to a business that is not taking calls.
    Inactive {
        business: BusinessRecord,
        line: PhoneE164,
    },
    /// No business owns this line (or the message named no line we can resolve).
    Unknown,
}

/// Why a tool credential's call acts for no business now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRouted {
    /// The credential's line no longer belongs to its business (or to any).
    UnknownLine,
    /// The business is not taking calls.
    Inactive,
}

/// The business a tool credential acts for, if its line still routes there: a line moved to
/// another business since the credential was issued reads nothing of either.
pub async fn credential_business<S: Store>(
    store: &S,
    credential: &crate::credential::ToolCredential,
) -> Result<Result<BusinessRecord, NotRouted>, StoreError> {
    Ok(
        match resolve_line(store, Some(&credential.line), None).await? {
            LineRoute::Active { business, .. } if business.id == credential.business_id => {
                Ok(business)
            }
            LineRoute::Inactive { business, .. } if business.id == credential.business_id => {
                Err(NotRouted::Inactive)
            }
            _ => Err(NotRouted::UnknownLine),
        },
    )
}

/// A record's stored JSON (serializing our own types does not fail; if it did, it is a
/// backend fault, not the caller's).
pub fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(|e| StoreError::Backend(e.to_string()))
}

/// Write a JSON record (a plain put: no compare-and-swap).
pub async fn put_json<S: Store, T: serde::Serialize>(
    store: &S,
    key: &str,
    value: &T,
) -> Result<(), StoreError> {
    store.put(key, &to_json(value)?).await
}

/// Read a JSON record; a record that no longer parses is a backend fault, not a missing key.
pub async fn read_json<S: Store, T: serde::de::DeserializeOwned>(
    store: &S,
    key: &str,
) -> Result<Option<T>, StoreError> {
    match store.get_value(key).await? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("record {key}: {e}"))),
    }
}

/// [`read_json`] with the version it was read at, for a compare-and-swap that follows.
pub async fn read_json_versioned<S: Store, T: serde::de::DeserializeOwned>(
    store: &S,
    key: &str,
) -> Result<Option<(T, Version)>, StoreError> {
    match store.get(key).await? {
        None => Ok(None),
        Some(v) => serde_json::from_slice(&v.value)
            .map(|value| Some((value, v.version)))
            .map_err(|e| StoreError::Corrupt(format!("record {key}: {e}"))),
    }
}

/// Every JSON record under `prefix`, in key order (a prefix list, then one read each: for
/// short per-business lists such as staff, API keys and devices, never a hot path).
pub async fn read_all<S: Store, T: serde::de::DeserializeOwned>(
    store: &S,
    prefix: &str,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    for key in store.list(prefix).await? {
        if let Some(v) = read_json(store, &key).await? {
            out.push(v);
        }
    }
    Ok(out)
}

/// A key part that sorts newest first: `at` counted down, in fixed width. Logs kept as one key
/// per entry (the call log's index, the audit log) append a tie-breaker after a `-`.
pub fn newest_first(at: jiff::Timestamp) -> String {
    let ms = at.as_millisecond().max(0) as u64;
    format!("{:020}", u64::MAX / 2 - ms.min(u64::MAX / 2))
}

/// One page of a log kept as one key per entry under `prefix`, keys sorting newest first
/// ([`newest_first`]): the entries whose key suffix comes after the cursor `after`, each read
/// with `read` (which skips a suffix by answering `None`), at most `limit` of them; and the
/// cursor of the next page (the last suffix returned) when entries remain.
pub async fn page_newest_first<S: Store, T>(
    store: &S,
    prefix: &str,
    limit: usize,
    after: Option<&str>,
    mut read: impl AsyncFnMut(&str) -> Result<Option<T>, StoreError>,
) -> Result<(Vec<T>, Option<String>), StoreError> {
    let suffixes: Vec<String> = store
        .list(prefix)
        .await?
        .into_iter()
        .filter_map(|k| k.strip_prefix(prefix).map(str::to_owned))
        .filter(|s| after.is_none_or(|a| s.as_str() > a))
        .collect();
    let mut page = Vec::new();
    let mut last = None;
    for suffix in suffixes {
        if page.len() == limit {
            return Ok((page, last));
        }
        if let Some(v) = read(&suffix).await? {
            page.push(v);
            last = Some(suffix);
        }
    }
    Ok((page, None))
}

/// Read-modify-write a JSON record with compare-and-swap, retrying when another writer wins.
/// `change` gets the current value (`None` when absent) and returns the value to write, or
/// `None` to leave the record as it is. Returns what was written (`None` if nothing was).
pub async fn update_json<S, T, F>(
    store: &S,
    key: &str,
    mut change: F,
) -> Result<Option<T>, StoreError>
where
    S: Store,
    T: serde::Serialize + serde::de::DeserializeOwned,
    F: FnMut(Option<T>) -> Option<T>,
{
    const ATTEMPTS: usize = 8;
    for _ in 0..ATTEMPTS {
        let (value, version) = match read_json_versioned::<_, T>(store, key).await? {
            Some((v, version)) => (Some(v), Some(version)),
            None => (None, None),
        };
        let Some(next) = change(value) else {
            return Ok(None);
        };
        let bytes = to_json(&next)?;
        match store.compare_and_swap(key, version, &bytes).await {
            Ok(()) => return Ok(Some(next)),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict)
}

/// Resolve the line from a verified message's called number, or failing that from Vapi's
/// phone-number id through the `vapi-number/` mapping.
pub async fn resolve_line<S: Store>(
    store: &S,
    called_number: Option<&PhoneE164>,
    phone_number_id: Option<&str>,
) -> Result<LineRoute, StoreError> {
    let line = match called_number {
        Some(n) => n.clone(),
        None => {
            let Some(id) = phone_number_id else {
                return Ok(LineRoute::Unknown);
            };
            match store.get_value(&keys::vapi_number(id)).await? {
                Some(v) => match std::str::from_utf8(&v)
                    .ok()
                    .and_then(|s| PhoneE164::parse_e164(s).ok())
                {
                    Some(n) => n,
                    None => return Ok(LineRoute::Unknown),
                },
                None => return Ok(LineRoute::Unknown),
            }
        }
    };
    let Some(owner) = store.get_value(&keys::line(&line)).await? else {
        return Ok(LineRoute::Unknown);
    };
    let Some(business_id) = LineClaim::parse(&owner).map(|c| c.business_id) else {
        return Ok(LineRoute::Unknown);
    };
    let Some(business) =
        read_json::<_, BusinessRecord>(store, &keys::business(&business_id)).await?
    else {
        return Ok(LineRoute::Unknown);
    };
    // The index entry is claimed before the business record is committed on import; a line the
    // record does not list is being claimed, or was left by an interrupted import or released,
    // and must not route calls.
    if !business.lines.contains(&line) {
        return Ok(LineRoute::Unknown);
    }
    Ok(if business.active {
        LineRoute::Active { business, line }
    } else {
        LineRoute::Inactive { business, line }
    })
}

/// Whether `id` can be a Vapi phone-number id: 1-100 letters, digits, `-` or `_` (Vapi's are
/// UUIDs). Anything else is refused before it becomes part of a key.
pub fn valid_vapi_number_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Remember which E.164 line a Vapi phone-number id stands for, from a verified message that
/// carries both. Only writes when the mapping is new or changed.
pub async fn learn_vapi_number<S: Store>(
    store: &S,
    phone_number_id: &str,
    line: &PhoneE164,
) -> Result<(), StoreError> {
    let key = keys::vapi_number(phone_number_id);
    match store.get(&key).await? {
        Some(v) if v.value == line.as_str().as_bytes() => Ok(()),
        _ => store.put(&key, line.as_str().as_bytes()).await,
    }
}
