//! The hostile-guest suite, run unchanged against the hostile component as
//! built and against its pre-initialized snapshot: a snapshot must not loosen
//! any limit or let one run see another's state.

mod plain {
    const HOSTILE: &[u8] = sandflow_tests::guests::HOSTILE;
    include!("hostile_guests/suite.rs");
}

mod snapshot {
    const HOSTILE: &[u8] = sandflow_tests::guests::HOSTILE_SNAPSHOT;
    include!("hostile_guests/suite.rs");
}
