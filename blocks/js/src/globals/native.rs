//! The natives the modules call: what JavaScript would do slowly or wrongly by hand.

use base64::Engine;
use base64::alphabet::STANDARD;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use boa_engine::object::ObjectInitializer;
use boa_engine::object::builtins::{JsArray, JsArrayBuffer, JsUint8Array};
use boa_engine::property::Attribute;
use boa_engine::{Context, JsNativeError, JsObject, JsResult, JsString, JsValue, NativeFunction, js_string};
use url::{Url, quirks};

/// WHATWG forgiving-base64: padding optional, and bits past the last whole byte ignored.
const FORGIVING_BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// A native as boa calls it.
type Native = fn(&JsValue, &[JsValue], &mut Context) -> JsResult<JsValue>;

/// The object handed to every module as `native`.
pub(super) fn object(context: &mut Context) -> JsObject {
    let functions: [(&str, usize, Native); 9] = [
        ("base64Encode", 1, base64_encode),
        ("base64Decode", 1, base64_decode),
        ("utf8Encode", 1, utf8_encode),
        ("utf8Decode", 2, utf8_decode),
        ("urlParse", 2, url_parse),
        ("urlSet", 3, url_set),
        ("formParse", 1, form_parse),
        ("formSerialize", 1, form_serialize),
        ("randomBytes", 1, random_bytes),
    ];
    let mut object = ObjectInitializer::new(context);
    for (name, length, function) in functions {
        object.function(NativeFunction::from_fn_ptr(function), JsString::from(name), length);
    }
    object.build()
}

fn argument(args: &[JsValue], index: usize) -> JsValue {
    args.get(index).cloned().unwrap_or_default()
}

/// Lone surrogates become U+FFFD, as `TextEncoder` does.
fn string_argument(args: &[JsValue], index: usize, context: &mut Context) -> JsResult<String> {
    Ok(argument(args, index).to_string(context)?.to_std_string_lossy())
}

/// `base64Encode(string)`: the base64 of the string's code units as bytes (`btoa`); an Error
/// "Invalid character" when one is past U+00FF.
fn base64_encode(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let units = argument(args, 0).to_string(context)?.to_vec();
    let bytes = units
        .into_iter()
        .map(|unit| u8::try_from(unit).map_err(|_| JsNativeError::error().with_message("Invalid character")))
        .collect::<Result<Vec<u8>, _>>()?;
    Ok(JsString::from(base64::engine::general_purpose::STANDARD.encode(bytes)).into())
}

/// `base64Decode(string)`: the bytes of forgiving base64 as a string of code units U+0000 to
/// U+00FF (`atob`); an Error with Node's message when the text is not base64.
fn base64_decode(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let units: Vec<u16> = argument(args, 0)
        .to_string(context)?
        .iter()
        .filter(|unit| !matches!(unit, 0x09 | 0x0a | 0x0c | 0x0d | 0x20))
        .collect();
    let invalid = || JsNativeError::error().with_message("Invalid character");
    let padding = units.iter().rev().take_while(|&&unit| unit == u16::from(b'=')).count();
    let body = units[..units.len() - padding]
        .iter()
        .map(|&unit| {
            u8::try_from(unit).ok().filter(|byte| byte.is_ascii_alphanumeric() || *byte == b'+' || *byte == b'/')
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(invalid)?;
    if padding > 2 || (padding > 0 && !units.len().is_multiple_of(4)) {
        return Err(invalid().into());
    }
    if body.len() % 4 == 1 {
        return Err(JsNativeError::error().with_message("The string to be decoded is not correctly encoded.").into());
    }
    let bytes = FORGIVING_BASE64.decode(&body).map_err(|_| invalid())?;
    let units: Vec<u16> = bytes.into_iter().map(u16::from).collect();
    Ok(JsString::from(&units[..]).into())
}

/// `utf8Encode(string)`: its UTF-8 bytes as a `Uint8Array`.
fn utf8_encode(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let text = string_argument(args, 0, context)?;
    Ok(JsUint8Array::from_iter(text.into_bytes(), context)?.into())
}

/// `utf8Decode(arrayBuffer, fatal)`: the text; malformed sequences become U+FFFD, or throw when `fatal`.
fn utf8_decode(_: &JsValue, args: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    let bytes = argument(args, 0)
        .as_object()
        .and_then(|object| JsArrayBuffer::from_object(object).ok())
        .and_then(|buffer| buffer.to_vec())
        .ok_or_else(|| JsNativeError::typ().with_message("utf8Decode expects an ArrayBuffer"))?;
    let text = if argument(args, 1).to_boolean() {
        String::from_utf8(bytes)
            .map_err(|_| JsNativeError::typ().with_message("The encoded data was not valid for encoding utf-8"))?
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Ok(JsString::from(text).into())
}

/// `urlParse(input, base)`: the URL's components (as `URL`'s getters name them), or null when it does not parse.
fn url_parse(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let input = string_argument(args, 0, context)?;
    let base = argument(args, 1);
    let parsed = if base.is_undefined() {
        Url::parse(&input)
    } else {
        let base = base.to_string(context)?.to_std_string_lossy();
        Url::parse(&base).and_then(|base| base.join(&input))
    };
    match parsed {
        Ok(url) => components(&url, context),
        Err(_) => Ok(JsValue::null()),
    }
}

/// `urlSet(href, component, value)`: the href after assigning `value` to the component, as
/// `URL`'s setters do (an invalid value leaves the URL as it was; an invalid href is a TypeError).
fn url_set(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let href = string_argument(args, 0, context)?;
    let component = string_argument(args, 1, context)?;
    let value = string_argument(args, 2, context)?;
    let mut url = Url::parse(&href).map_err(|_| JsNativeError::typ().with_message("Invalid URL"))?;
    // An invalid value leaves the URL unchanged: WHATWG setters never throw.
    match component.as_str() {
        "href" => quirks::set_href(&mut url, &value).map_err(|_| JsNativeError::typ().with_message("Invalid URL"))?,
        "protocol" => quirks::set_protocol(&mut url, &value).unwrap_or_default(),
        "username" => quirks::set_username(&mut url, &value).unwrap_or_default(),
        "password" => quirks::set_password(&mut url, &value).unwrap_or_default(),
        "host" => quirks::set_host(&mut url, &value).unwrap_or_default(),
        "hostname" => quirks::set_hostname(&mut url, &value).unwrap_or_default(),
        "port" => quirks::set_port(&mut url, &value).unwrap_or_default(),
        "pathname" => quirks::set_pathname(&mut url, &value),
        "search" => quirks::set_search(&mut url, &value),
        "hash" => quirks::set_hash(&mut url, &value),
        other => return Err(JsNativeError::typ().with_message(format!("no URL component {other}")).into()),
    };
    components(&url, context)
}

fn components(url: &Url, context: &mut Context) -> JsResult<JsValue> {
    let parts = [
        ("href", quirks::href(url).to_owned()),
        ("origin", quirks::origin(url)),
        ("protocol", quirks::protocol(url).to_owned()),
        ("username", quirks::username(url).to_owned()),
        ("password", quirks::password(url).to_owned()),
        ("host", quirks::host(url).to_owned()),
        ("hostname", quirks::hostname(url).to_owned()),
        ("port", quirks::port(url).to_owned()),
        ("pathname", quirks::pathname(url).to_owned()),
        ("search", quirks::search(url).to_owned()),
        ("hash", quirks::hash(url).to_owned()),
    ];
    let mut object = ObjectInitializer::new(context);
    for (name, value) in parts {
        object.property(JsString::from(name), JsString::from(value), Attribute::all());
    }
    Ok(object.build().into())
}

/// `formParse(query)`: the `[name, value]` pairs of an `application/x-www-form-urlencoded` string.
fn form_parse(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let query = string_argument(args, 0, context)?;
    let pairs = form_urlencoded::parse(query.as_bytes())
        .map(|(name, value)| {
            let pair = [JsString::from(&*name).into(), JsString::from(&*value).into()];
            JsArray::from_iter(pair, context).into()
        })
        .collect::<Vec<JsValue>>();
    Ok(JsArray::from_iter(pairs, context).into())
}

/// `formSerialize(pairs)`: the `application/x-www-form-urlencoded` string of `[name, value]` pairs.
fn form_serialize(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let pairs = argument(args, 0)
        .as_object()
        .ok_or_else(|| JsNativeError::typ().with_message("formSerialize expects an array"))?;
    let length = pairs.get(js_string!("length"), context)?.to_length(context)?;
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for index in 0..length {
        let pair = pairs.get(index, context)?;
        let pair = pair.as_object().ok_or_else(|| JsNativeError::typ().with_message("formSerialize expects pairs"))?;
        let name = pair.get(0, context)?.to_string(context)?.to_std_string_lossy();
        let value = pair.get(1, context)?.to_string(context)?.to_std_string_lossy();
        serializer.append_pair(&name, &value);
    }
    Ok(JsString::from(serializer.finish()).into())
}

/// `randomBytes(count)`: `count` bytes from the system's secure source, as a `Uint8Array`.
fn random_bytes(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let count = argument(args, 0).to_length(context)?;
    let count = usize::try_from(count).map_err(|_| JsNativeError::range().with_message("too many random bytes"))?;
    let mut bytes = vec![0; count];
    getrandom::fill(&mut bytes).map_err(|e| JsNativeError::error().with_message(format!("no randomness: {e}")))?;
    Ok(JsUint8Array::from_iter(bytes, context)?.into())
}
