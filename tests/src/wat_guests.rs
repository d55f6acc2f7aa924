//! Hand-written components for attacks a Rust guest cannot express: a core
//! module with several memories, and raw `table.grow`. Each satisfies the
//! `sandflow:block/block` world, so it goes through the same load and run
//! path as any block.

/// Builds a component whose `run` executes `attack` (core wasm instructions
/// with no stack effect) and then returns `ok(done("\"survived\""))`.
/// `extra_fields` adds core module fields (memories, tables) the attack uses.
fn block_component(extra_fields: &str, attack: &str) -> Vec<u8> {
    assemble(&block_component_text(extra_fields, attack))
}

fn assemble(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap_or_else(|e| panic!("test component does not assemble: {e}"))
}

/// The text of [`block_component`].
fn block_component_text(extra_fields: &str, attack: &str) -> String {
    format!(
        r#"
(component
  (import "sandflow:block/types@0.1.0" (instance $types
    (type $info (record
      (field "execution-id" string) (field "workflow-id" string) (field "block-id" string)
      (field "block-name" string) (field "attempt" u32) (field "resume-input" (option string))))
    (export "block-info" (type (eq $info)))
    (type $routed (record (field "route" string) (field "output" string)))
    (export "routed" (type $routed-e (eq $routed)))
    (type $pause (record (field "response" string) (field "resume-after-ms" (option u64)) (field "input-schema" (option string))))
    (export "pause-request" (type $pause-e (eq $pause)))
    (type $outcome (variant (case "done" string) (case "route" $routed-e) (case "pause" $pause-e)))
    (export "outcome" (type (eq $outcome)))
    (type $error (variant (case "invalid-input" string) (case "failed" string)))
    (export "block-error" (type (eq $error)))
    (type $manifest (record
      (field "name" string) (field "version" string) (field "description" string)
      (field "input-schema" string) (field "output-schema" string)))
    (export "manifest" (type (eq $manifest)))
  ))
  (alias export $types "block-info" (type $info))
  (alias export $types "outcome" (type $outcome))
  (alias export $types "block-error" (type $error))
  (alias export $types "manifest" (type $manifest))
  (import "sandflow:block/capabilities@0.1.0" (instance $caps
    (export "env" (type (sub resource)))
    (export "variables" (type (sub resource)))
  ))
  (alias export $caps "env" (type $env))
  (alias export $caps "variables" (type $variables))

  (core module $main
    (import "host" "drop-env" (func $drop-env (param i32)))
    (import "host" "drop-vars" (func $drop-vars (param i32)))
    (memory (export "memory") 1)
    {extra_fields}
    (global $next (mut i32) (i32.const 4096))
    ;; A bump allocator is enough: the instance lives for one call.
    (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
      (local $at i32)
      (local.set $at (i32.and
        (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
        (i32.xor (i32.sub (local.get 2) (i32.const 1)) (i32.const -1))))
      (global.set $next (i32.add (local.get $at) (local.get 3)))
      (if (i32.gt_u (global.get $next) (i32.mul (memory.size) (i32.const 65536)))
        (then unreachable))
      (local.get $at))
    ;; manifest: five (ptr, len) string pairs at 256.
    (data (i32.const 256)
      "\00\04\00\00\03\00\00\00"   ;; name -> "wat" at 1024
      "\03\04\00\00\05\00\00\00"   ;; version -> "0.1.0"
      "\08\04\00\00\03\00\00\00"   ;; description -> "wat"
      "\0b\04\00\00\02\00\00\00"   ;; input-schema -> "{{}}"
      "\0b\04\00\00\02\00\00\00")  ;; output-schema -> "{{}}"
    (data (i32.const 1024) "wat0.1.0wat{{}}")
    ;; result<outcome, block-error> at 512: ok, done, string at 2048.
    (data (i32.const 512) "\00\00\00\00\00\00\00\00" "\00\00\00\00\00\00\00\00" "\00\08\00\00\0a\00\00\00")
    (data (i32.const 2048) "\22survived\22")
    (func (export "describe") (result i32) (i32.const 256))
    (func (export "run")
      (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
      {attack}
      ;; The canonical ABI requires borrowed handles to be released before returning.
      (call $drop-env (local.get 14))
      (call $drop-vars (local.get 15))
      (i32.const 512))
  )
  (core func $drop-env (canon resource.drop $env))
  (core func $drop-vars (canon resource.drop $variables))
  (core instance $host (export "drop-env" (func $drop-env)) (export "drop-vars" (func $drop-vars)))
  (core instance $instance (instantiate $main (with "host" (instance $host))))
  (func (export "describe") (result $manifest)
    (canon lift (core func $instance "describe") (memory (core memory $instance "memory"))
      (realloc (core func $instance "cabi_realloc"))))
  (func (export "run")
    (param "info" $info) (param "params" string)
    (param "env" (borrow $env)) (param "vars" (borrow $variables))
    (result (result $outcome (error $error)))
    (canon lift (core func $instance "run") (memory (core memory $instance "memory"))
      (realloc (core func $instance "cabi_realloc"))))
)
"#
    )
}

/// A well-behaved component whose manifest declares `input_schema` (JSON
/// text) as its input schema: for schemas a server must refuse.
pub fn with_input_schema(input_schema: &str) -> Vec<u8> {
    const DEFAULT: &str = r#""\0b\04\00\00\02\00\00\00"   ;; input-schema"#;
    let text = block_component_text("", "");
    assert!(text.contains(DEFAULT), "the skeleton's manifest layout changed");
    // The schema's bytes at 8192, every one escaped, and the manifest pointing there.
    let len = u32::try_from(input_schema.len()).expect("a small schema").to_le_bytes();
    let pair: String = [0u8, 0x20, 0, 0].iter().chain(len.iter()).map(|b| format!("\\{b:02x}")).collect();
    let bytes: String = input_schema.bytes().map(|b| format!("\\{b:02x}")).collect();
    let text = text.replace(DEFAULT, &format!("\"{pair}\"   ;; input-schema")).replace(
        "(func (export \"describe\") (result i32)",
        &format!("(data (i32.const 8192) \"{bytes}\")\n    (func (export \"describe\") (result i32)"),
    );
    assemble(&text)
}

/// A well-behaved component built the same way, to show the skeleton itself runs.
pub fn benign() -> Vec<u8> {
    block_component("", "")
}

/// Two memories, each grown by `pages_each` 64 KiB pages. Each stays under a
/// per-memory limit of `pages_each` pages; only the sum passes it.
pub fn multi_memory_grow(pages_each: u32) -> Vec<u8> {
    block_component(
        "(memory $second 1)",
        &format!(
            "(drop (memory.grow 0 (i32.const {pages_each})))
             (drop (memory.grow $second (i32.const {pages_each})))"
        ),
    )
}

/// Grows its memory one page at a time, forever, ignoring failures.
pub fn grow_in_a_loop() -> Vec<u8> {
    block_component("", "(loop $again (drop (memory.grow (i32.const 1))) (br $again))")
}

/// Grows a table by `elements` in one instruction, then in a loop of small steps.
pub fn table_bomb(elements: u32) -> Vec<u8> {
    block_component(
        "(table $bomb 1 funcref)",
        &format!(
            "(drop (table.grow $bomb (ref.null func) (i32.const {elements})))
             (loop $again (drop (table.grow $bomb (ref.null func) (i32.const 1000))) (br $again))"
        ),
    )
}

/// A component whose init export (`wizer-initialize`, see `sandflow-snapshot`)
/// spins forever: pre-initializing it must end in the init's fuel limit.
pub fn init_that_spins() -> Vec<u8> {
    assemble(
        r#"
(component
  (core module $m
    (memory (export "memory") 1)
    (func (export "init") (loop $forever (br $forever))))
  (core instance $i (instantiate $m))
  (func (export "wizer-initialize") (canon lift (core func $i "init"))))
"#,
    )
}

/// A component whose init export calls one of its imports: pre-initializing it
/// must fail (every import traps during the init), naming the import.
pub fn init_that_calls_an_import() -> Vec<u8> {
    assemble(
        r#"
(component
  (import "wasi:random/insecure-seed@0.2.6" (instance $seed
    (export "insecure-seed" (func (result (tuple u64 u64))))))
  (alias export $seed "insecure-seed" (func $insecure-seed))
  (core module $libc (memory (export "memory") 1))
  (core instance $libc (instantiate $libc))
  (core func $seed-lowered (canon lower (func $insecure-seed) (memory (core memory $libc "memory"))))
  (core module $m
    (import "host" "seed" (func $seed (param i32)))
    (func (export "init") (call $seed (i32.const 0))))
  (core instance $i (instantiate $m (with "host" (instance (export "seed" (func $seed-lowered))))))
  (func (export "wizer-initialize") (canon lift (core func $i "init"))))
"#,
    )
}
