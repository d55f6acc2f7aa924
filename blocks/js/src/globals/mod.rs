//! The web globals a Node 20 user expects (`atob`, `TextEncoder`, `structuredClone`, `URL`,
//! `crypto`, `Intl`, locale formatting, lenient `Date` parsing), which boa without its `intl`
//! feature lacks.
//!
//! Each group is a JavaScript module (a `.js` file beside this one) loaded on first use: the
//! globals are accessors that evaluate their module when first read, so a condition that uses
//! none of them pays nothing (installing the accessors costs about a seventh of building the
//! context). They stay accessors, as Node's own `atob` is (assigning one makes it a plain
//! value): boa 0.22 caches global lookups, and a getter that redefines its own property makes
//! the paused code read a stale slot. The byte-level work (UTF-8, URL parsing, form encoding,
//! randomness) is native, in [`native`].
//!
//! `Intl` is a hand-written subset: boa's `intl_bundled` feature embeds 14 MB of ICU data
//! (`include_bytes!` of its postcard blobs), far more than a block component may weigh. It
//! covers en-US, en-GB, de-DE, fr-FR, es-ES, it-IT and nl-NL (a bare language such as `de`
//! means its listed region; any other locale falls back to en-US) with:
//! - `NumberFormat` / `Number.prototype.toLocaleString`: styles decimal, percent and currency
//!   (symbols for USD, EUR and GBP, any other code shown as itself; `currencyDisplay` symbol or
//!   code), fraction and integer digits, `useGrouping`, rounding half away from zero on the
//!   shortest decimal form as ICU does; no compact, scientific or unit notation, no `formatToParts`;
//! - `DateTimeFormat` / `Date.prototype.toLocale{,Date,Time}String`: `dateStyle`, `timeStyle`
//!   and the usual component options, in the UTC time zone only (another `timeZone` is a
//!   RangeError: the guest has no zone data); no `formatToParts`, no eras or fractional seconds;
//! - `Collator` / `String.prototype.localeCompare`: base letter, then accents, then case, with
//!   `sensitivity`, `numeric` and `caseFirst`, Spanish ñ, German ß; no `ignorePunctuation`
//!   and only the Latin script ordered as CLDR does.
//!
//! `TextDecoder` decodes UTF-8 only (Node's full-ICU builds know more encodings).

mod native;

#[cfg(test)]
mod tests;

use boa_engine::object::FunctionObjectBuilder;
use boa_engine::object::builtins::JsFunction;
use boa_engine::property::PropertyDescriptor;
use boa_engine::{Context, JsNativeError, JsObject, JsResult, JsString, JsValue, NativeFunction, js_string};

/// Each module's source: one function expression `(native, require) => exports`.
const MODULES: &[(&str, &str)] = &[
    ("web", include_str!("web.js")),
    ("url", include_str!("url.js")),
    ("locale", include_str!("locale.js")),
    ("intl", include_str!("intl.js")),
    ("intl-number", include_str!("intl_number.js")),
    ("intl-datetime", include_str!("intl_datetime.js")),
    ("intl-collator", include_str!("intl_collator.js")),
    ("date", include_str!("date.js")),
];

/// Global name, the module that defines it, and the export it is.
const GLOBALS: &[(&str, &str, &str)] = &[
    ("DOMException", "web", "DOMException"),
    ("atob", "web", "atob"),
    ("btoa", "web", "btoa"),
    ("TextEncoder", "web", "TextEncoder"),
    ("TextDecoder", "web", "TextDecoder"),
    ("structuredClone", "web", "structuredClone"),
    ("crypto", "web", "crypto"),
    ("URL", "url", "URL"),
    ("URLSearchParams", "url", "URLSearchParams"),
    ("Intl", "intl", "Intl"),
    ("Date", "date", "Date"),
];

/// Prototype methods replaced by a module's export: the constructor whose prototype holds
/// them, the method name, its `length`, the module and the export (called with the same `this`).
const METHODS: &[(&str, &str, usize, &str, &str)] = &[
    ("Number", "toLocaleString", 0, "intl-number", "numberToLocaleString"),
    ("Date", "toLocaleString", 0, "intl-datetime", "dateToLocaleString"),
    ("Date", "toLocaleDateString", 0, "intl-datetime", "dateToLocaleDateString"),
    ("Date", "toLocaleTimeString", 0, "intl-datetime", "dateToLocaleTimeString"),
    ("String", "localeCompare", 1, "intl-collator", "localeCompare"),
];

/// Where loaded modules are kept, by name, plus the natives under [`NATIVE`]; never reachable from user code.
const NATIVE: &str = "native";

/// Installs the web globals on the context's global object.
pub fn install(context: &mut Context) -> JsResult<()> {
    let registry = JsObject::with_null_proto();
    let natives = native::object(context);
    // The module wrapping Date needs the original constructor once the global is an accessor.
    let original_date = context.global_object().get(js_string!("Date"), context)?;
    natives.set(js_string!("Date"), original_date, false, context)?;
    registry.set(js_string!(NATIVE), natives, false, context)?;

    for (index, (prototype_of, name, length, _, _)) in METHODS.iter().enumerate() {
        let function = NativeFunction::from_copy_closure_with_captures(call_method, (registry.clone(), index));
        let function = FunctionObjectBuilder::new(context.realm(), function).name(*name).length(*length).build();
        let prototype = context
            .global_object()
            .get(JsString::from(*prototype_of), context)?
            .as_object()
            .ok_or_else(|| JsNativeError::typ().with_message(format!("{prototype_of} is not an object")))?
            .get(js_string!("prototype"), context)?
            .as_object()
            .ok_or_else(|| JsNativeError::typ().with_message(format!("{prototype_of}.prototype is not an object")))?;
        let method = PropertyDescriptor::builder().value(function).writable(true).enumerable(false).configurable(true);
        prototype.define_property_or_throw(JsString::from(*name), method, context)?;
    }

    for (index, (name, _, _)) in GLOBALS.iter().enumerate() {
        let getter = NativeFunction::from_copy_closure_with_captures(get_global, (registry.clone(), index));
        let setter = NativeFunction::from_copy_closure_with_captures(set_global, (registry.clone(), index));
        let getter = FunctionObjectBuilder::new(context.realm(), getter).name(format!("get {name}")).build();
        let setter = FunctionObjectBuilder::new(context.realm(), setter).name(format!("set {name}")).length(1).build();
        let accessor = PropertyDescriptor::builder().get(getter).set(setter).enumerable(false).configurable(true);
        context.global_object().define_property_or_throw(JsString::from(*name), accessor, context)?;
    }
    Ok(())
}

/// The global's value: its module's export.
fn get_global(
    _: &JsValue,
    _: &[JsValue],
    (registry, index): &(JsObject, usize),
    context: &mut Context,
) -> JsResult<JsValue> {
    let (_, module, export) = GLOBALS[*index];
    load(registry, module, context)?.get(JsString::from(export), context)
}

/// Assigning a global before reading it replaces it, as assigning any writable global does.
fn set_global(
    _: &JsValue,
    args: &[JsValue],
    (_, index): &(JsObject, usize),
    context: &mut Context,
) -> JsResult<JsValue> {
    let value = args.first().cloned().unwrap_or_default();
    define_global(GLOBALS[*index].0, value, context)?;
    Ok(JsValue::undefined())
}

/// Writable and configurable but not enumerable, as Node's web globals are.
fn define_global(name: &str, value: JsValue, context: &mut Context) -> JsResult<()> {
    let property = PropertyDescriptor::builder().value(value).writable(true).enumerable(false).configurable(true);
    context.global_object().define_property_or_throw(JsString::from(name), property, context)?;
    Ok(())
}

fn call_method(
    this: &JsValue,
    args: &[JsValue],
    (registry, index): &(JsObject, usize),
    context: &mut Context,
) -> JsResult<JsValue> {
    let (_, _, _, module, export) = METHODS[*index];
    let function = load(registry, module, context)?.get(JsString::from(export), context)?;
    let function = function
        .as_callable()
        .ok_or_else(|| JsNativeError::typ().with_message(format!("module {module} exports no function {export}")))?;
    function.call(this, args, context)
}

/// The exports of `module`, evaluating it the first time it is asked for.
fn load(registry: &JsObject, module: &str, context: &mut Context) -> JsResult<JsObject> {
    let key = JsString::from(module);
    if let Some(exports) = registry.get(key.clone(), context)?.as_object() {
        return Ok(exports);
    }
    let source = MODULES
        .iter()
        .find_map(|(name, source)| (*name == module).then_some(*source))
        .ok_or_else(|| JsNativeError::typ().with_message(format!("no module {module}")))?;
    // Compiled through the Function constructor rather than run as a script: a module loads
    // inside a getter, in the middle of running code, where evaluating a nested script
    // corrupts the operand stack of the code that is paused.
    let function_constructor = context.intrinsics().constructors().function().constructor();
    let body = JsString::from(format!("return {source}"));
    let wrapper = function_constructor.call(&JsValue::undefined(), &[body.into()], context)?;
    let factory = wrapper
        .as_callable()
        .ok_or_else(|| JsNativeError::typ().with_message("the Function constructor returned no function"))?
        .call(&JsValue::undefined(), &[], context)?;
    let factory = factory
        .as_callable()
        .ok_or_else(|| JsNativeError::typ().with_message(format!("module {module} is not a function")))?;
    let natives = registry.get(js_string!(NATIVE), context)?;
    let require = NativeFunction::from_copy_closure_with_captures(require, registry.clone());
    let require: JsFunction = FunctionObjectBuilder::new(context.realm(), require).name("require").length(1).build();
    let exports = factory.call(&JsValue::undefined(), &[natives, require.into()], context)?;
    let exports = exports
        .as_object()
        .ok_or_else(|| JsNativeError::typ().with_message(format!("module {module} exported no object")))?;
    registry.set(key, exports.clone(), false, context)?;
    Ok(exports)
}

/// A module's access to another, by name.
fn require(_: &JsValue, args: &[JsValue], registry: &JsObject, context: &mut Context) -> JsResult<JsValue> {
    let name = args.first().cloned().unwrap_or_default().to_string(context)?.to_std_string_escaped();
    Ok(load(registry, &name, context)?.into())
}
