//! The hash maps and sets the compiler uses: std's and indexmap's, with
//! foldhash instead of SipHash. Hashing names was a tenth of a large
//! compile; foldhash is several times faster and still seeded per process.

pub type Hasher = foldhash::fast::RandomState;

pub type HashMap<K, V> = std::collections::HashMap<K, V, Hasher>;
pub type HashSet<T> = std::collections::HashSet<T, Hasher>;
pub type IndexMap<K, V> = indexmap::IndexMap<K, V, Hasher>;
