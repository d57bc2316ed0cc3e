//! Fixed-width little-endian tables kept as one byte string, so that the stored index loads
//! them with one copy and no per-element decoding: the typo and sound-alike tables and the
//! item–option links are computed when a menu is published and read on every tool call.

use serde::de::{Error, Visitor};
use serde::{Deserializer, Serializer};
use std::fmt;

/// Sorted `(hash, id)` pairs, 12 bytes each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Pairs(Vec<u8>);

const PAIR: usize = 12;

impl Pairs {
    /// From pairs in any order (sorted and deduplicated here).
    pub fn from_unsorted(mut pairs: Vec<(u64, u32)>) -> Pairs {
        pairs.sort_unstable();
        pairs.dedup();
        let mut bytes = Vec::with_capacity(pairs.len() * PAIR);
        for (h, id) in pairs {
            bytes.extend_from_slice(&h.to_le_bytes());
            bytes.extend_from_slice(&id.to_le_bytes());
        }
        Pairs(bytes)
    }

    fn len(&self) -> usize {
        self.0.len() / PAIR
    }

    fn hash(&self, i: usize) -> u64 {
        let b = &self.0[i * PAIR..i * PAIR + 8];
        u64::from_le_bytes(b.try_into().unwrap_or([0; 8]))
    }

    fn id(&self, i: usize) -> u32 {
        let b = &self.0[i * PAIR + 8..i * PAIR + PAIR];
        u32::from_le_bytes(b.try_into().unwrap_or([0; 4]))
    }

    /// The ids paired with `h`.
    pub fn ids_of(&self, h: u64) -> impl Iterator<Item = u32> + '_ {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.hash(mid) < h {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (lo..self.len())
            .take_while(move |&i| self.hash(i) == h)
            .map(|i| self.id(i))
    }

    /// Whether a stored table is whole (a truncated one reads as corrupt, not as a panic).
    pub fn is_well_formed(&self) -> bool {
        self.0.len().is_multiple_of(PAIR)
    }
}

/// A `u32` vector, 4 bytes each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct U32s(Vec<u8>);

impl U32s {
    pub fn push(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub fn len(&self) -> usize {
        self.0.len() / 4
    }

    pub fn get(&self, i: usize) -> Option<u32> {
        let b = self.0.get(i * 4..i * 4 + 4)?;
        Some(u32::from_le_bytes(b.try_into().ok()?))
    }

    /// Elements `start..end` (clamped to what is there).
    pub fn range(&self, start: usize, end: usize) -> impl Iterator<Item = u32> + '_ {
        (start..end.min(self.len())).filter_map(|i| self.get(i))
    }

    pub fn is_well_formed(&self) -> bool {
        self.0.len().is_multiple_of(4)
    }
}

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a byte string")
    }

    fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(b) = seq.next_element()? {
            out.push(b);
        }
        Ok(out)
    }
}

macro_rules! bytes_serde {
    ($t:ident) => {
        impl serde::Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
                d.deserialize_byte_buf(BytesVisitor).map($t)
            }
        }
    };
}

bytes_serde!(Pairs);
bytes_serde!(U32s);

/// A `u32` vector stored as one little-endian byte string and read back in one pass over the
/// bytes (a plain `Vec<u32>` is stored as a sequence decoded one varint at a time, which was
/// the larger part of loading the vocabulary on every tool call).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct U32Vec(pub Vec<u32>);

impl std::ops::Deref for U32Vec {
    type Target = Vec<u32>;
    fn deref(&self) -> &Vec<u32> {
        &self.0
    }
}

impl std::ops::DerefMut for U32Vec {
    fn deref_mut(&mut self) -> &mut Vec<u32> {
        &mut self.0
    }
}

impl serde::Serialize for U32Vec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = self.0.iter().flat_map(|v| v.to_le_bytes()).collect();
        s.serialize_bytes(&bytes)
    }
}

struct U32VecVisitor;

impl<'de> Visitor<'de> for U32VecVisitor {
    type Value = U32Vec;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a byte string of little-endian u32s")
    }

    fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<U32Vec, E> {
        if !v.len().is_multiple_of(4) {
            return Err(E::invalid_length(v.len(), &self));
        }
        Ok(U32Vec(
            v.chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<U32Vec, A::Error> {
        let bytes = BytesVisitor.visit_seq(seq)?;
        self.visit_bytes(&bytes)
    }
}

impl<'de> serde::Deserialize<'de> for U32Vec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<U32Vec, D::Error> {
        d.deserialize_bytes(U32VecVisitor)
    }
}

/// Plain bytes, stored as one byte string (a `Vec<u8>` would be a sequence of elements).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Bytes(pub Vec<u8>);

bytes_serde!(Bytes);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_find_every_id_of_a_hash_and_survive_postcard() {
        let p = Pairs::from_unsorted(vec![(5, 1), (3, 9), (5, 0), (5, 1), (u64::MAX, 7)]);
        let back: Pairs = postcard::from_bytes(&postcard::to_allocvec(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.ids_of(5).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(back.ids_of(3).collect::<Vec<_>>(), [9]);
        assert_eq!(back.ids_of(u64::MAX).collect::<Vec<_>>(), [7]);
        assert_eq!(back.ids_of(4).count(), 0);
        assert!(Pairs::default().ids_of(1).next().is_none());
    }

    #[test]
    fn u32s_round_trip_and_clamp() {
        let mut v = U32s::default();
        for x in [1, u32::MAX, 0] {
            v.push(x);
        }
        let back: U32s = postcard::from_bytes(&postcard::to_allocvec(&v).unwrap()).unwrap();
        assert_eq!(back.range(0, 9).collect::<Vec<_>>(), [1, u32::MAX, 0]);
        assert_eq!(back.get(3), None);
        assert!(!U32s(vec![1, 2, 3]).is_well_formed());
    }

    #[test]
    fn u32_vecs_round_trip_and_refuse_a_torn_table() {
        let v = U32Vec(vec![1, u32::MAX, 0, 70_000]);
        let back: U32Vec = postcard::from_bytes(&postcard::to_allocvec(&v).unwrap()).unwrap();
        assert_eq!(back, v);
        let json: U32Vec = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert_eq!(json, v);
        // Five bytes are not whole u32s: an error, not a guess.
        let torn = postcard::to_allocvec(&Bytes(vec![1, 0, 0, 0, 9])).unwrap();
        assert!(postcard::from_bytes::<U32Vec>(&torn).is_err());
    }
}
