(function (native, require) {
  "use strict";

  // Part of the hand-written Intl subset (see intl.js): en-US, en-GB, de-DE, fr-FR, es-ES, it-IT
  // and nl-NL, with CLDR's data for them as Node 20 (ICU 73+) shows it.
  const { resolveLocale, supportedLocalesOf } = require("locale");

  // Collation: letters compare by base letter first, then accents, then case (lower first), as
  // CLDR's root order does for Latin text; spaces and punctuation sort before digits, digits
  // before letters, ß as "ss" (after it at the accent level). Spanish orders ñ as a letter of its own after n.
  const COMBINING = /[\u0300-\u036f]/;
  const SENSITIVITIES = ["base", "accent", "case", "variant"];
  // CLDR root's order of ASCII punctuation and symbols, and of the common accents.
  const PUNCTUATION = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$";
  const ACCENTS = "\u0301\u0300\u0306\u0302\u030c\u030a\u0308\u030b\u0303\u0307\u0328\u0327\u0304";
  const ELEMENT_CACHE_LIMIT = 10000;
  const LOWER = 0;
  const UPPER = 1;

  function punctuationWeight(char) {
    const index = PUNCTUATION.indexOf(char);
    return String.fromCharCode(0x20 + (index === -1 ? PUNCTUATION.length + char.charCodeAt(0) : index));
  }

  function accentWeights(accents) {
    return Array.from(accents, (mark) => String.fromCharCode(0x41 + (ACCENTS.includes(mark) ? ACCENTS.indexOf(mark) : 0x100 + mark.charCodeAt(0)))).join("");
  }

  function collationElements(text, locale, numeric) {
    const elements = [];
    const decomposed = String(text).normalize("NFD");
    for (let index = 0; index < decomposed.length; index++) {
      const char = decomposed[index];
      if (COMBINING.test(char)) {
        if (elements.length) elements[elements.length - 1].accents += char;
        continue;
      }
      if (numeric && /\d/.test(char)) {
        let end = index;
        while (end < decomposed.length && /\d/.test(decomposed[end])) end++;
        const digits = decomposed.slice(index, end).replace(/^0+(?=\d)/, "");
        elements.push({ primary: `1${String(digits.length).padStart(4, "0")}${digits}`, accents: "", tertiary: LOWER });
        index = end - 1;
        continue;
      }
      if (char === "ß") {
        elements.push({ primary: "2s", accents: "", tertiary: LOWER }, { primary: "2s", accents: "", tertiary: LOWER, expanded: true });
        continue;
      }
      const lower = char.toLowerCase();
      const primary = /\p{L}/u.test(char) ? `2${lower}` : /\d/.test(char) ? `1${char}` : `0${punctuationWeight(char)}`;
      elements.push({ primary, accents: "", tertiary: lower === char ? LOWER : UPPER });
    }
    for (const element of elements) {
      if (locale === "es-ES" && element.primary === "2n" && element.accents.startsWith("\u0303")) {
        element.primary = "2n\uffff";
        element.accents = element.accents.slice(1);
      }
      // ß is "ss" told apart at the accent level, after every plain "ss".
      element.accents = accentWeights(element.accents) + (element.expanded ? "\uffff" : "");
    }
    return elements;
  }

  function compareLevel(a, b, key) {
    const length = Math.min(a.length, b.length);
    for (let index = 0; index < length; index++) {
      const left = key(a[index]);
      const right = key(b[index]);
      if (left !== right) return left < right ? -1 : 1;
    }
    return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
  }

  class Collator {
    #locale;
    #sensitivity;
    #numeric;
    #caseFirst;
    #cache = new Map();

    constructor(locales, options) {
      const settings = options === undefined ? {} : Object(options);
      this.#locale = resolveLocale(locales);
      this.#sensitivity = settings.sensitivity === undefined ? "variant" : String(settings.sensitivity);
      if (!SENSITIVITIES.includes(this.#sensitivity)) {
        throw new RangeError(`Value ${this.#sensitivity} out of range for Intl.Collator options property sensitivity`);
      }
      this.#numeric = Boolean(settings.numeric);
      this.#caseFirst = settings.caseFirst === undefined ? "false" : String(settings.caseFirst);
    }

    get compare() {
      return (left, right) => this.#compare(String(left), String(right));
    }

    #compare(left, right) {
      if (left === right) return 0;
      const a = this.#elementsOf(left);
      const b = this.#elementsOf(right);
      const primary = compareLevel(a, b, (element) => element.primary);
      if (primary !== 0) return primary;
      if (this.#sensitivity === "accent" || this.#sensitivity === "variant") {
        const accents = compareLevel(a, b, (element) => element.accents);
        if (accents !== 0) return accents;
      }
      if (this.#sensitivity === "case" || this.#sensitivity === "variant") {
        const upperFirst = this.#caseFirst === "upper";
        const cased = compareLevel(a, b, (element) => (upperFirst ? UPPER - element.tertiary : element.tertiary));
        if (cased !== 0) return cased;
      }
      return 0;
    }

    static supportedLocalesOf(locales) {
      return supportedLocalesOf(locales);
    }

    // A sort compares each string many times: its elements are computed once per collator.
    #elementsOf(text) {
      let elements = this.#cache.get(text);
      if (elements === undefined) {
        if (this.#cache.size >= ELEMENT_CACHE_LIMIT) this.#cache.clear();
        elements = collationElements(text, this.#locale, this.#numeric);
        this.#cache.set(text, elements);
      }
      return elements;
    }

    resolvedOptions() {
      return { locale: this.#locale, usage: "sort", sensitivity: this.#sensitivity, ignorePunctuation: false,
        collation: "default", numeric: this.#numeric, caseFirst: this.#caseFirst };
    }
  }

  // A sort calls localeCompare once per comparison, mostly with the same locale and options:
  // the collator made for the last such call is kept.
  let lastCollator = null;
  function collatorFor(locales, options) {
    const plain = (value) => value === undefined || typeof value === "string" || typeof value === "boolean";
    const settings = options === undefined ? {} : options;
    if (typeof settings !== "object" || settings === null || !plain(locales)) return new Collator(locales, options);
    const fields = ["sensitivity", "numeric", "caseFirst"];
    if (Object.keys(settings).some((key) => !fields.includes(key)) || !fields.every((key) => plain(settings[key]))) {
      return new Collator(locales, options);
    }
    const key = JSON.stringify([locales, ...fields.map((field) => settings[field])]);
    if (lastCollator === null || lastCollator.key !== key) lastCollator = { key, collator: new Collator(locales, options) };
    return lastCollator.collator;
  }

  return {
    Collator,
    localeCompare(that, locales, options) {
      if (this === null || this === undefined) {
        throw new TypeError("String.prototype.localeCompare called on null or undefined");
      }
      return collatorFor(locales, options).compare(String(this), String(that));
    },
  };
})
