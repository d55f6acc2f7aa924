(function (native) {
  "use strict";

  function invalidUrl(input) {
    const error = new TypeError("Invalid URL");
    error.code = "ERR_INVALID_URL";
    error.input = input;
    return error;
  }

  function requireArgument(count, name) {
    if (count === 0) {
      const error = new TypeError(`The "${name}" argument must be specified`);
      error.code = "ERR_MISSING_ARGS";
      throw error;
    }
  }

  // What a URLSearchParams tells its URL when it changes, and how the URL refreshes it.
  const attach = Symbol("attach");
  const refresh = Symbol("refresh");

  class URLSearchParams {
    #pairs = [];
    #onChange = null;

    constructor(init = "") {
      if (init instanceof URLSearchParams) {
        this.#pairs = init.#pairs.map(([name, value]) => [name, value]);
      } else if (init !== null && typeof init === "object" || typeof init === "function") {
        if (typeof init[Symbol.iterator] === "function") {
          this.#pairs = Array.from(init, (pair) => {
            const entry = typeof pair === "string" || pair == null || typeof pair[Symbol.iterator] !== "function" ? null : [...pair];
            if (entry === null || entry.length !== 2) {
              const error = new TypeError("Each query pair must be an iterable [name, value] tuple");
              error.code = "ERR_INVALID_TUPLE";
              throw error;
            }
            return [String(entry[0]), String(entry[1])];
          });
        } else {
          this.#pairs = Object.keys(init).map((name) => [name, String(init[name])]);
        }
      } else {
        this[refresh](String(init));
      }
    }

    [refresh](query) {
      this.#pairs = native.formParse(query.startsWith("?") ? query.slice(1) : query);
    }

    [attach](onChange) {
      this.#onChange = onChange;
    }

    #changed() {
      if (this.#onChange) this.#onChange(this.toString());
    }

    get size() {
      return this.#pairs.length;
    }

    append(name, value) {
      requireArgument(arguments.length < 2 ? 0 : 2, arguments.length === 0 ? "name" : "value");
      this.#pairs.push([String(name), String(value)]);
      this.#changed();
    }

    delete(name, value) {
      requireArgument(arguments.length, "name");
      const key = String(name);
      this.#pairs = this.#pairs.filter(([n, v]) => n !== key || (value !== undefined && v !== String(value)));
      this.#changed();
    }

    get(name) {
      requireArgument(arguments.length, "name");
      const found = this.#pairs.find(([n]) => n === String(name));
      return found ? found[1] : null;
    }

    getAll(name) {
      requireArgument(arguments.length, "name");
      return this.#pairs.filter(([n]) => n === String(name)).map(([, v]) => v);
    }

    has(name, value) {
      requireArgument(arguments.length, "name");
      return this.#pairs.some(([n, v]) => n === String(name) && (value === undefined || v === String(value)));
    }

    set(name, value) {
      requireArgument(arguments.length < 2 ? 0 : 2, arguments.length === 0 ? "name" : "value");
      const key = String(name);
      const first = this.#pairs.findIndex(([n]) => n === key);
      if (first === -1) {
        this.#pairs.push([key, String(value)]);
      } else {
        this.#pairs[first][1] = String(value);
        this.#pairs = this.#pairs.filter(([n], index) => n !== key || index === first);
      }
      this.#changed();
    }

    sort() {
      // Stable, by UTF-16 code units, as the standard asks.
      this.#pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      this.#changed();
    }

    forEach(callback, thisArg) {
      if (typeof callback !== "function") {
        const error = new TypeError('The "callback" argument must be of type function');
        error.code = "ERR_INVALID_ARG_TYPE";
        throw error;
      }
      this.#pairs.forEach(([name, value]) => callback.call(thisArg, value, name, this));
    }

    // Iterators over a snapshot, walked by the array iterator, which the engine's loop limit
    // does not count (Node's see changes made while iterating; few callers make any).
    entries() {
      return this.#pairs.map(([name, value]) => [name, value]).values();
    }

    keys() {
      return this.#pairs.map(([name]) => name).values();
    }

    values() {
      return this.#pairs.map(([, value]) => value).values();
    }

    [Symbol.iterator]() {
      return this.entries();
    }

    toString() {
      return native.formSerialize(this.#pairs);
    }

    get [Symbol.toStringTag]() {
      return "URLSearchParams";
    }
  }

  const COMPONENTS = ["protocol", "username", "password", "host", "hostname", "port", "pathname", "search", "hash"];

  class URL {
    #parts;
    #searchParams;

    constructor(input, base) {
      requireArgument(arguments.length, "url");
      const text = String(input);
      const parts = native.urlParse(text, base === undefined ? undefined : String(base));
      if (parts === null) throw invalidUrl(text);
      this.#parts = parts;
      this.#searchParams = new URLSearchParams(parts.search);
      this.#searchParams[attach]((query) => {
        this.#parts = native.urlSet(this.#parts.href, "search", query);
      });
    }

    static canParse(input, base) {
      return native.urlParse(String(input), base === undefined ? undefined : String(base)) !== null;
    }

    get href() {
      return this.#parts.href;
    }

    set href(value) {
      const parts = native.urlParse(String(value));
      if (parts === null) throw invalidUrl(String(value));
      this.#update(parts);
    }

    get origin() {
      return this.#parts.origin;
    }

    get searchParams() {
      return this.#searchParams;
    }

    #update(parts) {
      const searchChanged = parts.search !== this.#parts.search;
      this.#parts = parts;
      if (searchChanged) this.#searchParams[refresh](parts.search);
    }

    toString() {
      return this.#parts.href;
    }

    toJSON() {
      return this.#parts.href;
    }

    get [Symbol.toStringTag]() {
      return "URL";
    }

    static {
      for (const component of COMPONENTS) {
        Object.defineProperty(this.prototype, component, {
          get() {
            return this.#parts[component];
          },
          set(value) {
            this.#update(native.urlSet(this.#parts.href, component, String(value)));
          },
          enumerable: true,
          configurable: true,
        });
      }
    }
  }

  return { URL, URLSearchParams };
})
