//! A compile bomb: a valid component that is cheap to send and expensive to
//! compile. Each function keeps `width` distinct values alive on the operand
//! stack at once (so the register allocator spills and reloads all of them),
//! and there are `functions` of them. Nothing runs: compiling is the attack.

/// Appends `value` as unsigned LEB128.
fn leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Appends `value` as signed LEB128 (the encoding of `i32.const`).
fn sleb(out: &mut Vec<u8>, mut value: i64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        let done = (value == 0 && byte & 0x40 == 0) || (value == -1 && byte & 0x40 != 0);
        if done {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Appends a section: its id, its size, its contents.
fn section(out: &mut Vec<u8>, id: u8, contents: &[u8]) {
    out.push(id);
    leb(out, contents.len() as u64);
    out.extend_from_slice(contents);
}

/// The core module: `functions` functions of type `(i32) -> i32`, each
/// computing `x*0 + x*1 + ... + x*(width-1)` with every product pushed first.
pub fn core_module(functions: u32, width: u32) -> Vec<u8> {
    let mut body = vec![0x00]; // no locals
    for i in 0..width {
        body.extend_from_slice(&[0x20, 0x00, 0x41]); // local.get 0, i32.const
        sleb(&mut body, i64::from(i));
        body.push(0x6c); // i32.mul
    }
    body.extend(std::iter::repeat_n(0x6a, width.saturating_sub(1) as usize)); // i32.add
    body.push(0x0b); // end

    let mut module = b"\0asm\x01\0\0\0".to_vec();
    section(&mut module, 1, &[0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f]);
    let mut functions_section = Vec::new();
    leb(&mut functions_section, u64::from(functions));
    functions_section.extend(std::iter::repeat_n(0x00, functions as usize));
    section(&mut module, 3, &functions_section);
    let mut code = Vec::new();
    leb(&mut code, u64::from(functions));
    for _ in 0..functions {
        leb(&mut code, body.len() as u64);
        code.extend_from_slice(&body);
    }
    section(&mut module, 10, &code);
    module
}

/// The bomb as a component (the core module inside a component's preamble).
pub fn component(functions: u32, width: u32) -> Vec<u8> {
    let mut component = b"\0asm\x0d\0\x01\0".to_vec();
    section(&mut component, 1, &core_module(functions, width));
    component
}
