(function (native, require) {
  "use strict";

  // Part of the hand-written Intl subset (see intl.js): en-US, en-GB, de-DE, fr-FR, es-ES, it-IT
  // and nl-NL, with CLDR's data for them as Node 20 (ICU 73+) shows it.
  const { resolveLocale, supportedLocalesOf } = require("locale");
  const NBSP = "\u00a0";
  const NNBSP = "\u202f";

  // Number formats: separators, the fewest integer digits that get grouped, the currency
  // pattern ({s} symbol, {n} number, {-} sign) and the percent pattern.
  const NUMBERS = {
    "en-US": { group: ",", decimal: ".", minGrouping: 1, currency: "{-}{s}{n}", percent: "{-}{n}%",
      symbols: { USD: "$", EUR: "€", GBP: "£" } },
    "en-GB": { group: ",", decimal: ".", minGrouping: 1, currency: "{-}{s}{n}", percent: "{-}{n}%",
      symbols: { USD: "US$", EUR: "€", GBP: "£" } },
    "de-DE": { group: ".", decimal: ",", minGrouping: 1, currency: `{-}{n}${NBSP}{s}`, percent: `{-}{n}${NBSP}%`,
      symbols: { USD: "$", EUR: "€", GBP: "£" } },
    "fr-FR": { group: NNBSP, decimal: ",", minGrouping: 1, currency: `{-}{n}${NBSP}{s}`, percent: `{-}{n}${NBSP}%`,
      symbols: { USD: "$US", EUR: "€", GBP: "£GB" } },
    "es-ES": { group: ".", decimal: ",", minGrouping: 2, currency: `{-}{n}${NBSP}{s}`, percent: `{-}{n}${NBSP}%`,
      symbols: { USD: "US$", EUR: "€", GBP: "GBP" } },
    "it-IT": { group: ".", decimal: ",", minGrouping: 2, currency: `{-}{n}${NBSP}{s}`, percent: "{-}{n}%",
      symbols: { USD: "USD", EUR: "€", GBP: "£" } },
    "nl-NL": { group: ".", decimal: ",", minGrouping: 1, currency: `{s}${NBSP}{-}{n}`, percent: "{-}{n}%",
      symbols: { USD: "US$", EUR: "€", GBP: "£" } },
  };

  function option(options, name, allowed, fallback) {
    const value = options[name];
    if (value === undefined) return fallback;
    const text = String(value);
    if (allowed && !allowed.includes(text)) {
      throw new RangeError(`Value ${text} out of range for Intl.NumberFormat options property ${name}`);
    }
    return text;
  }

  function digitsOption(options, name, fallback) {
    const value = options[name];
    if (value === undefined) return fallback;
    const number = Number(value);
    if (!Number.isFinite(number) || number < 0 || number > 100) throw new RangeError(`${name} value is out of range.`);
    return Math.floor(number);
  }

  // The decimal digits of |value| rounded half away from zero to `maxFraction` places, read
  // from the shortest round-trip form as ICU does (so 1.005 rounds to 1.01, unlike toFixed).
  function roundedDigits(value, minFraction, maxFraction) {
    const [mantissa, exponentText] = Math.abs(value).toExponential().split("e");
    const digits = mantissa.replace(".", "");
    let pointAt = Number(exponentText) + 1;
    let all = pointAt <= 0 ? "0".repeat(1 - pointAt) + digits : digits.padEnd(pointAt, "0");
    if (pointAt <= 0) pointAt = 1;
    let integer = all.slice(0, pointAt);
    let fraction = all.slice(pointAt);
    if (fraction.length > maxFraction) {
      const roundUp = fraction[maxFraction] >= "5";
      fraction = fraction.slice(0, maxFraction);
      if (roundUp) {
        const increased = (BigInt(integer + fraction) + 1n).toString().padStart(integer.length + fraction.length, "0");
        integer = increased.slice(0, increased.length - fraction.length);
        fraction = increased.slice(increased.length - fraction.length);
      }
    }
    while (fraction.length > minFraction && fraction.endsWith("0")) fraction = fraction.slice(0, -1);
    fraction = fraction.padEnd(minFraction, "0");
    return { integer: integer.replace(/^0+(?=\d)/, ""), fraction };
  }

  function group(integer, data, useGrouping) {
    if (!useGrouping || integer.length < 3 + data.minGrouping) return integer;
    return integer.replace(/\B(?=(\d{3})+$)/g, data.group);
  }

  const CURRENCY_DIGITS = 2;

  class NumberFormat {
    #locale;
    #options;

    constructor(locales, options) {
      const settings = options === undefined ? {} : Object(options);
      this.#locale = resolveLocale(locales);
      const style = option(settings, "style", ["decimal", "percent", "currency"], "decimal");
      let currency;
      if (style === "currency") {
        if (settings.currency === undefined) throw new TypeError("Currency code is required with currency style.");
        currency = String(settings.currency).toUpperCase();
        if (!/^[A-Z]{3}$/.test(currency)) throw new RangeError(`Invalid currency code : ${settings.currency}`);
      }
      const currencyDisplay = option(settings, "currencyDisplay", ["symbol", "narrowSymbol", "code"], "symbol");
      const defaultMin = style === "currency" ? CURRENCY_DIGITS : 0;
      const defaultMax = style === "currency" ? CURRENCY_DIGITS : style === "percent" ? 0 : 3;
      let minimumFractionDigits = digitsOption(settings, "minimumFractionDigits", undefined);
      let maximumFractionDigits = digitsOption(settings, "maximumFractionDigits", undefined);
      if (minimumFractionDigits === undefined) {
        minimumFractionDigits = Math.min(defaultMin, maximumFractionDigits ?? defaultMin);
      }
      if (maximumFractionDigits === undefined) {
        maximumFractionDigits = Math.max(minimumFractionDigits, defaultMax);
      } else if (minimumFractionDigits > maximumFractionDigits) {
        throw new RangeError("maximumFractionDigits value is out of range.");
      }
      const minimumIntegerDigits = digitsOption(settings, "minimumIntegerDigits", 1);
      const useGrouping = settings.useGrouping === undefined ? true : Boolean(settings.useGrouping);
      this.#options = { style, currency, currencyDisplay, minimumIntegerDigits, minimumFractionDigits,
        maximumFractionDigits, useGrouping };
    }

    get format() {
      return (value) => this.#format(value);
    }

    #format(value) {
      const number = typeof value === "bigint" ? Number(value) : Number(value);
      const data = NUMBERS[this.#locale];
      const { style, currency, currencyDisplay, minimumIntegerDigits, minimumFractionDigits,
        maximumFractionDigits, useGrouping } = this.#options;
      const negative = number < 0 || Object.is(number, -0);
      let body;
      if (Number.isNaN(number)) {
        body = "NaN";
      } else if (!Number.isFinite(number)) {
        body = "∞";
      } else {
        const scaled = style === "percent" ? Math.abs(number) * 100 : Math.abs(number);
        const { integer, fraction } = roundedDigits(scaled, minimumFractionDigits, maximumFractionDigits);
        const whole = group(integer.padStart(minimumIntegerDigits, "0"), data, useGrouping);
        body = fraction ? `${whole}${data.decimal}${fraction}` : whole;
      }
      const sign = negative && !Number.isNaN(number) ? "-" : "";
      if (style === "percent") return data.percent.replace("{-}", sign).replace("{n}", body);
      if (style === "currency") {
        const symbol = currencyDisplay === "code" ? currency : data.symbols[currency] ?? currency;
        // A code, unlike a symbol, is always kept apart from the number.
        const pattern = currencyDisplay === "code" ? data.currency.replace("{s}{n}", `{s}${NBSP}{n}`) : data.currency;
        return pattern.replace("{-}", sign).replace("{s}", symbol).replace("{n}", body);
      }
      return sign + body;
    }

    resolvedOptions() {
      const { currency, currencyDisplay, ...rest } = this.#options;
      const shown = { locale: this.#locale, numberingSystem: "latn", ...rest };
      if (currency) Object.assign(shown, { currency, currencyDisplay });
      shown.useGrouping = rest.useGrouping ? "auto" : false;
      return shown;
    }

    static supportedLocalesOf(locales) {
      return supportedLocalesOf(locales);
    }
  }

  function thisNumber(value) {
    if (typeof value === "number") return value;
    if (value instanceof Number) return value.valueOf();
    throw new TypeError("Number.prototype.toLocaleString requires that 'this' be a Number");
  }

  return {
    NumberFormat,
    numberToLocaleString(locales, options) {
      return new NumberFormat(locales, options).format(thisNumber(this));
    },
  };
})
