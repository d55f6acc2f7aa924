//! An uploaded block's manifest schemas, checked before the block is
//! accepted: a self-referencing input schema would otherwise be compiled and
//! run against every workflow's params that use the block (see
//! [`sandflow_engine::validate::check_schema_bounds`]).

use axum::http::StatusCode;
use sandflow_runtime::Manifest;

use crate::api::error::ApiError;

/// 400 `invalid_schema` naming the schema and what is wrong with it.
pub(crate) fn check_manifest_schemas(manifest: &Manifest) -> Result<(), ApiError> {
    for (name, schema) in [("input-schema", &manifest.input_schema), ("output-schema", &manifest.output_schema)] {
        if let Err(refused) = sandflow_engine::validate::check_schema_bounds(schema) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_schema",
                format!("the block's manifest {name} is refused: {refused}"),
            ));
        }
    }
    Ok(())
}
