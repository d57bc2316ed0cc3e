//! The index's answer records (items, categories, groups, options, FAQs), stored so that a
//! tool call decodes only the few it reads: each record's own postcard bytes back to back,
//! with its key (an id, or a category's name) in a flat key table. Loading the table is a
//! handful of copies whatever the menu's size; a record is decoded the first time it is read
//! and kept for the rest of the call. Decoding every record of a 500-item menu on every tool
//! call, to answer about one or two of them, was most of the cost of loading an index.

use super::packed::{Bytes, U32Vec};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::OnceLock;

#[derive(Clone)]
pub(crate) struct Records<T> {
    stored: Stored,
    /// Per record, decoded on first read (`None`: its bytes do not decode, only a corrupt
    /// stored value).
    cells: Vec<OnceLock<Option<T>>>,
}

/// What is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Stored {
    /// Every record's key, back to back.
    #[serde(rename = "k")]
    keys: String,
    /// Per record, the end offset of its key in `keys`.
    #[serde(rename = "ke")]
    key_ends: U32Vec,
    /// Every record's postcard encoding, back to back.
    #[serde(rename = "b")]
    bytes: Bytes,
    /// Per record, the end offset of its encoding in `bytes`.
    #[serde(rename = "e")]
    ends: U32Vec,
}

impl<T> Default for Records<T> {
    fn default() -> Self {
        Records {
            stored: Stored::default(),
            cells: Vec::new(),
        }
    }
}

impl<T: std::fmt::Debug + Serialize + DeserializeOwned> std::fmt::Debug for Records<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The slice `start..end` of `len` elements whose end offsets are `ends`, clamped.
fn span(ends: &[u32], i: usize, len: usize) -> (usize, usize) {
    let end = |k: usize| ends.get(k).map_or(0, |&e| (e as usize).min(len));
    let start = if i == 0 { 0 } else { end(i - 1) };
    (start, end(i).max(start))
}

impl<T: Serialize + DeserializeOwned> Records<T> {
    /// From `(key, record)` pairs in their order; the records stay decoded.
    pub fn build(records: Vec<(String, T)>) -> Records<T> {
        let mut stored = Stored::default();
        let mut cells = Vec::with_capacity(records.len());
        for (key, record) in records {
            stored.keys.push_str(&key);
            stored.key_ends.push(stored.keys.len() as u32);
            // Serializing a record of plain fields into a vector cannot fail; were it ever
            // to, the record reads back as missing, like a corrupt one.
            if let Ok(encoded) = postcard::to_allocvec(&record) {
                stored.bytes.0.extend_from_slice(&encoded);
            }
            stored.ends.push(stored.bytes.0.len() as u32);
            cells.push(OnceLock::from(Some(record)));
        }
        Records { stored, cells }
    }

    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Record `i`, decoded on first read.
    pub fn get(&self, i: usize) -> Option<&T> {
        self.cells
            .get(i)?
            .get_or_init(|| {
                let (start, end) = span(&self.stored.ends, i, self.stored.bytes.0.len());
                postcard::from_bytes(&self.stored.bytes.0[start..end]).ok()
            })
            .as_ref()
    }

    /// Record `i`'s key.
    pub fn key(&self, i: usize) -> &str {
        let (start, end) = span(&self.stored.key_ends, i, self.stored.keys.len());
        self.stored.keys.get(start..end).unwrap_or("")
    }

    /// The position of the first record with this key (keys are compared, records are not
    /// decoded).
    pub fn position(&self, key: &str) -> Option<usize> {
        (0..self.len()).find(|&i| self.key(i) == key)
    }

    /// The first record with this key.
    pub fn find(&self, key: &str) -> Option<&T> {
        self.get(self.position(key)?)
    }

    /// Every record in order (decoding those not read yet; a corrupt one is skipped).
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Whether the stored tables hold together: as many keys as records, offsets in order.
    pub fn is_well_formed(&self) -> bool {
        let ordered = |ends: &[u32], len: usize| {
            ends.windows(2).all(|w| w[0] <= w[1]) && ends.last().is_none_or(|&e| e as usize == len)
        };
        self.stored.key_ends.len() == self.stored.ends.len()
            && ordered(&self.stored.key_ends, self.stored.keys.len())
            && ordered(&self.stored.ends, self.stored.bytes.0.len())
            && self
                .stored
                .key_ends
                .iter()
                .all(|&e| self.stored.keys.is_char_boundary(e as usize))
    }
}

impl<T> Serialize for Records<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.stored.serialize(s)
    }
}

impl<'de, T> Deserialize<'de> for Records<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Records<T>, D::Error> {
        let stored = Stored::deserialize(d)?;
        let cells = (0..stored.ends.len()).map(|_| OnceLock::new()).collect();
        Ok(Records { stored, cells })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Dish {
        id: String,
        price: i64,
        tags: Vec<String>,
    }

    fn dish(id: &str, price: i64) -> (String, Dish) {
        let d = Dish {
            id: id.into(),
            price,
            tags: vec![format!("{id}-tag")],
        };
        (id.into(), d)
    }

    #[test]
    fn records_read_back_lazily_by_position_and_key() {
        let built = Records::build(vec![dish("a", 1), dish("bb", -2), dish("ccc", 3)]);
        let back: Records<Dish> =
            postcard::from_bytes(&postcard::to_allocvec(&built).unwrap()).unwrap();
        assert!(back.is_well_formed());
        // Nothing is decoded until read.
        assert!(back.cells.iter().all(|c| c.get().is_none()));
        assert_eq!(back.find("bb").map(|d| d.price), Some(-2));
        assert_eq!(back.cells.iter().filter(|c| c.get().is_some()).count(), 1);
        assert_eq!(back.position("ccc"), Some(2));
        assert_eq!(back.find("zz"), None);
        assert_eq!(back.get(3), None);
        assert_eq!(back.iter().count(), 3);
        assert_eq!(
            back.iter().collect::<Vec<_>>(),
            built.iter().collect::<Vec<_>>()
        );
        // And through JSON, which stores the byte strings as arrays.
        let json: Records<Dish> =
            serde_json::from_str(&serde_json::to_string(&built).unwrap()).unwrap();
        assert_eq!(json.iter().cloned().collect::<Vec<_>>(), {
            back.iter().cloned().collect::<Vec<_>>()
        });
    }

    #[test]
    fn a_torn_table_is_not_well_formed_and_never_panics() {
        let built = Records::build(vec![dish("a", 1), dish("b", 2)]);
        let mut torn = built.clone();
        torn.stored.ends.0 = vec![900, 3];
        torn.cells = vec![OnceLock::new(), OnceLock::new()];
        assert!(!torn.is_well_formed());
        // Out-of-range offsets read as missing records, not as a panic.
        let _ = torn.get(0);
        let _ = torn.get(1);
        let mut short = built.clone();
        short.stored.key_ends.0.pop();
        assert!(!short.is_well_formed());
        assert_eq!(short.key(1), "");
    }
}
