//! Durable state of the Sandflow server behind one `Store` trait.
