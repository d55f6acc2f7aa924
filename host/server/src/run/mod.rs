//! Running executions, for the API and for workers alike: one engine pass
//! of a stored execution (`pass`), resuming a pause point (`resume`), the
//! embedded path (`local`), the server's side of distributed mode
//! (`queued`), the worker (`worker`), secrets sealed at rest (`sealed`),
//! and the one seam the routes call (`dispatch`). Nothing here speaks
//! HTTP: failures are [`error::RunError`].

pub mod context;
pub mod dispatch;
pub mod error;
pub mod events;
pub mod live;
pub mod local;
pub mod pass;
pub mod queued;
pub mod resume;
pub mod sealed;
pub mod worker;
