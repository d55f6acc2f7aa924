(function (native) {
  "use strict";

  // The legacy numeric codes of the DOMException names these globals throw.
  const LEGACY_CODES = {
    IndexSizeError: 1, NotFoundError: 8, NotSupportedError: 9, InvalidCharacterError: 5,
    SyntaxError: 12, InvalidStateError: 11, TypeMismatchError: 17, QuotaExceededError: 22,
    AbortError: 20, DataCloneError: 25,
  };

  class DOMException extends Error {
    constructor(message = "", name = "Error") {
      super(String(message));
      Object.defineProperty(this, "name", { value: String(name), configurable: true, writable: true });
    }
    get code() {
      return LEGACY_CODES[this.name] || 0;
    }
  }

  function requireArgument(count, name, quoted = true) {
    if (count === 0) {
      const error = new TypeError(`The ${quoted ? `"${name}"` : name} argument must be specified`);
      error.code = "ERR_MISSING_ARGS";
      throw error;
    }
  }

  // The natives throw a plain Error with Node's message; the web names it InvalidCharacterError.
  function invalidCharacter(run) {
    try {
      return run();
    } catch (error) {
      throw new DOMException(error.message, "InvalidCharacterError");
    }
  }

  function atob(input) {
    requireArgument(arguments.length, "input");
    return invalidCharacter(() => native.base64Decode(String(input)));
  }

  function btoa(input) {
    requireArgument(arguments.length, "input");
    return invalidCharacter(() => native.base64Encode(String(input)));
  }

  class TextEncoder {
    get encoding() {
      return "utf-8";
    }
    encode(input = "") {
      return native.utf8Encode(input);
    }
    encodeInto(source, destination) {
      const bytes = native.utf8Encode(source);
      // Only whole characters are written: stop before the first UTF-8 lead byte that no longer fits.
      let written = Math.min(bytes.length, destination.length);
      while (written < bytes.length && written > 0 && (bytes[written] & 0xc0) === 0x80) written--;
      destination.set(bytes.subarray(0, written));
      const read = new TextDecoder().decode(bytes.subarray(0, written)).length;
      return { read, written };
    }
  }

  const UTF8_LABELS = ["utf-8", "utf8", "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "x-unicode20utf8"];

  class TextDecoder {
    #fatal;
    #ignoreBOM;
    constructor(label = "utf-8", options = {}) {
      if (!UTF8_LABELS.includes(String(label).trim().toLowerCase())) {
        // Node's small-ICU builds know other encodings; this subset decodes UTF-8 only.
        const error = new RangeError(`The "${label}" encoding is not supported`);
        error.code = "ERR_ENCODING_NOT_SUPPORTED";
        throw error;
      }
      this.#fatal = Boolean(options && options.fatal);
      this.#ignoreBOM = Boolean(options && options.ignoreBOM);
    }
    get encoding() {
      return "utf-8";
    }
    get fatal() {
      return this.#fatal;
    }
    get ignoreBOM() {
      return this.#ignoreBOM;
    }
    decode(input) {
      if (input === undefined) return "";
      let buffer;
      if (input instanceof ArrayBuffer) {
        buffer = input.slice(0);
      } else if (ArrayBuffer.isView(input)) {
        buffer = input.buffer.slice(input.byteOffset, input.byteOffset + input.byteLength);
      } else {
        const error = new TypeError('The "input" argument must be an instance of ArrayBuffer or ArrayBufferView');
        error.code = "ERR_INVALID_ARG_TYPE";
        throw error;
      }
      let text;
      try {
        text = native.utf8Decode(buffer, this.#fatal);
      } catch (error) {
        error.code = "ERR_ENCODING_INVALID_ENCODED_DATA";
        throw error;
      }
      return !this.#ignoreBOM && text.startsWith("\ufeff") ? text.slice(1) : text;
    }
  }

  function cloneError(value) {
    const shown = typeof value === "function" ? Function.prototype.toString.call(value)
      : typeof value === "symbol" ? value.toString()
      : `#<${Object.prototype.toString.call(value).slice(8, -1)}>`;
    return new DOMException(`${shown} could not be cloned.`, "DataCloneError");
  }

  // The engine's own Date: the global is an accessor that loads the lenient-parsing wrapper,
  // which shares this prototype.
  const NativeDate = native.Date;
  const ERROR_TYPES = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };

  // The structured clone algorithm for what JSON-like data holds: own enumerable string keys,
  // shared and circular references kept, prototypes of class instances not. Collections are
  // walked with the builtins' own iteration, which the engine's loop limit does not count, so
  // a large array clones as it does in Node.
  function structuredClone(value) {
    requireArgument(arguments.length, "value", false);
    const seen = new Map();
    const copyKeys = (from, to) => {
      Object.keys(from).forEach((key) => {
        to[key] = copy(from[key]);
      });
      return to;
    };
    const copy = (input) => {
      if (typeof input === "function" || typeof input === "symbol") throw cloneError(input);
      if (input === null || typeof input !== "object") return input;
      if (seen.has(input)) return seen.get(input);
      const remember = (output) => (seen.set(input, output), output);
      // Plain objects and arrays first: they are nearly all of what a workflow clones.
      if (Array.isArray(input)) return copyKeys(input, remember(new Array(input.length)));
      const prototype = Object.getPrototypeOf(input);
      if (prototype === Object.prototype || prototype === null) return copyKeys(input, remember({}));
      if (input instanceof NativeDate) return remember(new NativeDate(input.getTime()));
      if (input instanceof RegExp) return remember(new RegExp(input.source, input.flags));
      if (input instanceof Number || input instanceof String || input instanceof Boolean) {
        return remember(Object(input.valueOf()));
      }
      if (input instanceof ArrayBuffer) return remember(input.slice(0));
      if (ArrayBuffer.isView(input)) {
        const buffer = copy(input.buffer);
        const View = input.constructor;
        const length = input instanceof DataView ? input.byteLength : input.length;
        return remember(new View(buffer, input.byteOffset, length));
      }
      if (input instanceof Map) {
        const output = remember(new Map());
        input.forEach((entry, key) => output.set(copy(key), copy(entry)));
        return output;
      }
      if (input instanceof Set) {
        const output = remember(new Set());
        input.forEach((entry) => output.add(copy(entry)));
        return output;
      }
      if (input instanceof Error) {
        const Type = ERROR_TYPES[input.name] || Error;
        const output = remember(new Type(input.message));
        if ("stack" in input) output.stack = input.stack;
        return output;
      }
      const tag = Object.prototype.toString.call(input).slice(8, -1);
      if (tag !== "Object" && tag !== "Arguments" && prototype === globalThis[tag]?.prototype) {
        throw cloneError(input);
      }
      return copyKeys(input, remember({}));
    };
    return copy(value);
  }

  const INTEGER_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array,
    Uint32Array, BigInt64Array, BigUint64Array];
  const ENTROPY_QUOTA = 65536;

  const crypto = {
    getRandomValues(array) {
      if (!INTEGER_ARRAYS.some((Type) => array instanceof Type)) {
        throw new DOMException("The data argument must be an integer-type TypedArray", "TypeMismatchError");
      }
      if (array.byteLength > ENTROPY_QUOTA) {
        throw new DOMException("The requested length exceeds 65,536 bytes", "QuotaExceededError");
      }
      new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(native.randomBytes(array.byteLength));
      return array;
    },
    randomUUID() {
      const bytes = native.randomBytes(16);
      // RFC 9562 version 4: the version nibble 0100, the variant bits 10.
      bytes[6] = (bytes[6] & 0x0f) | 0x40;
      bytes[8] = (bytes[8] & 0x3f) | 0x80;
      const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    },
  };

  return { DOMException, atob, btoa, TextEncoder, TextDecoder, structuredClone, crypto };
})
