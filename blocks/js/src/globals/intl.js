(function () {
  "use strict";

  // A hand-written subset of Intl for en-US, en-GB, de-DE, fr-FR, es-ES, it-IT and nl-NL, with
  // CLDR's data for them as Node 20 (ICU 73+) shows it, and the UTC time zone only.
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

  const EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December"];
  const EN_WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  const short = (names, length = 3) => names.map((name) => name.slice(0, length));

  // Date formats in CLDR pattern letters: y year, M month, d day, E weekday, H/h hour (24/12),
  // m minute, s second, a day period, z/zzzz time zone; quoted text is literal.
  const DATES = {
    "en-US": {
      months: EN_MONTHS, monthsShort: short(EN_MONTHS), weekdays: EN_WEEKDAYS, weekdaysShort: short(EN_WEEKDAYS),
      dateStyles: { full: "EEEE, MMMM d, y", long: "MMMM d, y", medium: "MMM d, y", short: "M/d/yy" },
      numeric: "M/d/y", textual: "MMMM d, y", textualShort: "MMM d, y", withWeekday: "EEEE, {date}",
      monthYear: "MMMM y", monthDay: "MMM d", hour12: true, hour: "h", hour24: "HH", periods: ["AM", "PM"],
      joinStyled: "{date} 'at' {time}", join: "{date}, {time}", zone: "Coordinated Universal Time", zoneFull: "{time} zzzz",
    },
    "en-GB": {
      months: EN_MONTHS, monthsShort: [...short(EN_MONTHS).slice(0, 8), "Sept", "Oct", "Nov", "Dec"],
      weekdays: EN_WEEKDAYS, weekdaysShort: short(EN_WEEKDAYS),
      dateStyles: { full: "EEEE, d MMMM y", long: "d MMMM y", medium: "d MMM y", short: "dd/MM/y" },
      numeric: "dd/MM/y", textual: "d MMMM y", textualShort: "d MMM y", withWeekday: "EEEE, {date}",
      monthYear: "MMMM y", monthDay: "d MMM", hour12: false, hour: "HH", periods: ["am", "pm"],
      joinStyled: "{date} 'at' {time}", join: "{date}, {time}", zone: "Coordinated Universal Time", zoneFull: "{time} zzzz",
    },
    "de-DE": {
      months: ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
        "November", "Dezember"],
      monthsShort: ["Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez."],
      monthsShortAlone: ["Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"],
      weekdays: ["Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"],
      weekdaysShort: ["So.", "Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa."],
      weekdaysShortAlone: ["So", "Mo", "Di", "Mi", "Do", "Fr", "Sa"],
      dateStyles: { full: "EEEE, d. MMMM y", long: "d. MMMM y", medium: "dd.MM.y", short: "dd.MM.yy" },
      numeric: "d.M.y", textual: "d. MMMM y", textualShort: "d. MMM y", withWeekday: "EEEE, {date}",
      monthYear: "MMMM y", monthDay: "d. MMM", hour12: false, hour: "HH", periods: ["AM", "PM"],
      joinStyled: "{date} 'um' {time}", join: "{date}, {time}", zone: "Koordinierte Weltzeit", zoneFull: "{time} zzzz",
    },
    "fr-FR": {
      months: ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
        "novembre", "décembre"],
      monthsShort: ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."],
      weekdays: ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
      weekdaysShort: ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
      dateStyles: { full: "EEEE d MMMM y", long: "d MMMM y", medium: "d MMM y", short: "dd/MM/y" },
      numeric: "dd/MM/y", textual: "d MMMM y", textualShort: "d MMM y", withWeekday: "EEEE {date}",
      monthYear: "MMMM y", monthDay: "d MMM", hour12: false, hour: "HH", periods: ["AM", "PM"],
      joinStyled: "{date} 'à' {time}", join: "{date} {time}", joinMedium: "{date}, {time}",
      zone: "temps universel coordonné", zoneFull: "{time} zzzz",
    },
    "es-ES": {
      months: ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
        "noviembre", "diciembre"],
      monthsShort: ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"],
      weekdays: ["domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"],
      weekdaysShort: ["dom", "lun", "mar", "mié", "jue", "vie", "sáb"],
      dateStyles: { full: "EEEE, d 'de' MMMM 'de' y", long: "d 'de' MMMM 'de' y", medium: "d MMM y", short: "d/M/yy" },
      numeric: "d/M/y", textual: "d 'de' MMMM 'de' y", textualShort: "d MMM y", withWeekday: "EEEE, {date}",
      monthYear: "MMMM 'de' y", monthDay: "d MMM", hour12: false, hour: "H", periods: ["a. m.", "p. m."],
      joinStyled: "{date}, {time}", join: "{date}, {time}", zone: "tiempo universal coordinado", zoneFull: "{time} (zzzz)",
    },
    "it-IT": {
      months: ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
        "ottobre", "novembre", "dicembre"],
      monthsShort: ["gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"],
      weekdays: ["domenica", "lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato"],
      weekdaysShort: ["dom", "lun", "mar", "mer", "gio", "ven", "sab"],
      dateStyles: { full: "EEEE d MMMM y", long: "d MMMM y", medium: "d MMM y", short: "dd/MM/yy" },
      numeric: "dd/MM/y", textual: "d MMMM y", textualShort: "d MMM y", withWeekday: "EEEE {date}",
      monthYear: "MMMM y", monthDay: "d MMM", hour12: false, hour: "HH", periods: ["AM", "PM"],
      joinStyled: "{date} 'alle ore' {time}", join: "{date}, {time}", zone: "Tempo coordinato universale",
      zoneFull: "{time} zzzz",
    },
    "nl-NL": {
      months: ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
        "november", "december"],
      monthsShort: ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"],
      weekdays: ["zondag", "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag"],
      weekdaysShort: ["zo", "ma", "di", "wo", "do", "vr", "za"],
      dateStyles: { full: "EEEE d MMMM y", long: "d MMMM y", medium: "d MMM y", short: "dd-MM-y" },
      numeric: "d-M-y", textual: "d MMMM y", textualShort: "d MMM y", withWeekday: "EEEE {date}",
      monthYear: "MMMM y", monthDay: "d MMM", hour12: false, hour: "HH", periods: ["a.m.", "p.m."],
      joinStyled: "{date} 'om' {time}", join: "{date}, {time}", zone: "gecoördineerde wereldtijd", zoneFull: "{time} zzzz",
    },
  };

  const DEFAULT_LOCALE = "en-US";
  // A bare language, or a region this subset lacks, takes the language's listed locale.
  const BY_LANGUAGE = { en: "en-US", de: "de-DE", fr: "fr-FR", es: "es-ES", it: "it-IT", nl: "nl-NL" };

  function resolveLocale(locales) {
    const requested = locales === undefined ? [] : typeof locales === "string" ? [locales] : Array.from(locales);
    for (const tag of requested) {
      if (typeof tag !== "string" && !(tag instanceof String)) throw new TypeError("Language ID should be string or object.");
      const [language = "", region = ""] = String(tag).split(/[-_]/);
      if (!/^[a-z]{2,8}$/i.test(language)) throw new RangeError(`Incorrect locale information provided`);
      const exact = `${language.toLowerCase()}-${region.toUpperCase()}`;
      if (exact in NUMBERS) return exact;
      if (language.toLowerCase() in BY_LANGUAGE) return BY_LANGUAGE[language.toLowerCase()];
    }
    return DEFAULT_LOCALE;
  }

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
      return (typeof locales === "string" ? [locales] : Array.from(locales ?? [])).filter(
        (tag) => resolveLocale(tag) !== DEFAULT_LOCALE || /^en\b/i.test(tag));
    }
  }

  const UTC_NAMES = ["utc", "etc/utc", "gmt", "etc/gmt", "etc/universal", "etc/zulu", "universal", "zulu"];
  const FIELD_STYLES = {
    weekday: ["long", "short", "narrow"], year: ["numeric", "2-digit"],
    month: ["numeric", "2-digit", "long", "short", "narrow"], day: ["numeric", "2-digit"],
    hour: ["numeric", "2-digit"], minute: ["numeric", "2-digit"], second: ["numeric", "2-digit"],
    timeZoneName: ["short", "long"],
  };
  const STYLES = ["full", "long", "medium", "short"];

  function dateOption(options, name, allowed) {
    const value = options[name];
    if (value === undefined) return undefined;
    const text = String(value);
    if (!allowed.includes(text)) {
      throw new RangeError(`Value ${text} out of range for Intl.DateTimeFormat options property ${name}`);
    }
    return text;
  }

  // The pattern for component options, following the shapes CLDR's skeletons give these locales.
  function componentPattern(data, fields, hour12) {
    const { weekday, year, month, day, hour, minute, second, timeZoneName } = fields;
    let date = "";
    const textMonth = month === "long" || month === "short" || month === "narrow";
    if (textMonth && year && day) {
      date = month === "long" ? data.textual : data.textualShort;
    } else if (textMonth && year) {
      date = data.monthYear.replace("MMMM", month === "long" ? "MMMM" : "MMM");
    } else if (textMonth && day) {
      date = data.monthDay.replace("MMM", month === "long" ? "MMMM" : "MMM");
    } else if (textMonth) {
      date = month === "long" ? "LLLL" : "LLL";
    } else if (year && month && day) {
      date = data.numeric;
      if (month === "2-digit") date = date.replace(/M+/, "MM");
      if (day === "2-digit") date = date.replace(/d+/, "dd");
    } else if (year) {
      date = year === "2-digit" ? "yy" : "y";
    } else if (month) {
      date = month === "2-digit" ? "MM" : "M";
    } else if (day) {
      date = day === "2-digit" ? "dd" : "d";
    }
    if (year === "2-digit") date = date.replace(/y+/, "yy");
    if (weekday) {
      const letters = weekday === "long" ? "EEEE" : "EEE";
      date = date ? data.withWeekday.replace("EEEE", letters).replace("{date}", date) : weekday === "long" ? "cccc" : "ccc";
    }
    let time = "";
    if (hour || minute || second) {
      const twelve = hour12 ?? data.hour12;
      let hourLetters = twelve ? "h" : hour12 === false ? data.hour24 ?? "H" : data.hour;
      if (hour === "2-digit") hourLetters = twelve ? "hh" : "HH";
      time = [hour && hourLetters, minute && "mm", second && "ss"].filter(Boolean).join(":");
      if (twelve && hour) time += " a";
      if (timeZoneName) time += timeZoneName === "long" ? " zzzz" : " z";
    }
    if (date && time) return data.join.replace("{date}", date).replace("{time}", time);
    return date || time;
  }

  function timePattern(data, style, hour12) {
    const twelve = hour12 ?? data.hour12;
    const hour = twelve ? "h" : hour12 === false ? "H" : data.hour.length === 2 ? "HH" : "H";
    let time = `${hour}:mm${style === "short" ? "" : ":ss"}${twelve ? " a" : ""}`;
    if (style === "long") time += " z";
    if (style === "full") time = data.zoneFull.replace("{time}", time);
    return time;
  }

  function pad(number, length) {
    return String(number).padStart(length, "0");
  }

  function applyPattern(pattern, data, date) {
    const hours = date.getUTCHours();
    const monthsShortAlone = data.monthsShortAlone ?? data.monthsShort;
    const weekdaysShortAlone = data.weekdaysShortAlone ?? data.weekdaysShort;
    const values = {
      y: () => String(date.getUTCFullYear()),
      yy: () => pad(date.getUTCFullYear() % 100, 2),
      M: () => String(date.getUTCMonth() + 1),
      MM: () => pad(date.getUTCMonth() + 1, 2),
      MMM: () => data.monthsShort[date.getUTCMonth()],
      MMMM: () => data.months[date.getUTCMonth()],
      LLL: () => monthsShortAlone[date.getUTCMonth()],
      LLLL: () => data.months[date.getUTCMonth()],
      d: () => String(date.getUTCDate()),
      dd: () => pad(date.getUTCDate(), 2),
      EEE: () => data.weekdaysShort[date.getUTCDay()],
      EEEE: () => data.weekdays[date.getUTCDay()],
      ccc: () => weekdaysShortAlone[date.getUTCDay()],
      cccc: () => data.weekdays[date.getUTCDay()],
      H: () => String(hours),
      HH: () => pad(hours, 2),
      h: () => String(hours % 12 || 12),
      hh: () => pad(hours % 12 || 12, 2),
      mm: () => pad(date.getUTCMinutes(), 2),
      ss: () => pad(date.getUTCSeconds(), 2),
      a: () => data.periods[hours < 12 ? 0 : 1],
      z: () => "UTC",
      zzzz: () => data.zone,
    };
    return pattern.replace(/'([^']*)'|([yMLdEcHhmsaz])\2*/g, (token, literal) =>
      literal !== undefined ? literal : (values[token] ?? (() => token))());
  }

  class DateTimeFormat {
    #locale;
    #pattern;
    #fields;

    constructor(locales, options, defaults = "date") {
      const settings = options === undefined ? {} : Object(options);
      this.#locale = resolveLocale(locales);
      const data = DATES[this.#locale];
      if (settings.timeZone !== undefined && !UTC_NAMES.includes(String(settings.timeZone).toLowerCase())) {
        // The guest has no time zone data: UTC is the only zone it can show.
        throw new RangeError(`Invalid time zone specified: ${settings.timeZone}`);
      }
      const hour12 = settings.hour12 === undefined
        ? settings.hourCycle === undefined ? undefined : ["h11", "h12"].includes(String(settings.hourCycle))
        : Boolean(settings.hour12);
      const dateStyle = dateOption(settings, "dateStyle", STYLES);
      const timeStyle = dateOption(settings, "timeStyle", STYLES);
      const fields = {};
      for (const name of Object.keys(FIELD_STYLES)) fields[name] = dateOption(settings, name, FIELD_STYLES[name]);
      const named = Object.keys(fields).filter((name) => fields[name] !== undefined);
      if (dateStyle || timeStyle) {
        if (named.length) throw new TypeError(`Can't set option ${named[0]} when ${dateStyle ? "dateStyle" : "timeStyle"} is used`);
        const date = dateStyle && data.dateStyles[dateStyle];
        const time = timeStyle && timePattern(data, timeStyle, hour12);
        const styled = dateStyle === "full" || dateStyle === "long";
        const join = styled ? data.joinStyled : data.joinMedium ?? data.join;
        this.#pattern = date && time ? join.replace("{date}", date).replace("{time}", time) : date || time;
      } else {
        const hasDate = ["weekday", "year", "month", "day"].some((name) => fields[name]);
        const hasTime = ["hour", "minute", "second"].some((name) => fields[name]);
        if (!hasDate && !hasTime) {
          if (defaults !== "time") Object.assign(fields, { year: "numeric", month: "numeric", day: "numeric" });
          if (defaults !== "date") Object.assign(fields, { hour: "numeric", minute: "numeric", second: "numeric" });
        }
        this.#pattern = componentPattern(data, fields, hour12);
      }
      this.#fields = { dateStyle, timeStyle, hour12, ...fields };
    }

    get format() {
      return (value) => this.#format(value);
    }

    #format(value) {
      const date = value === undefined ? new Date() : new Date(typeof value === "object" ? value.valueOf() : Number(value));
      if (Number.isNaN(date.getTime())) throw new RangeError("Invalid time value");
      return applyPattern(this.#pattern, DATES[this.#locale], date);
    }

    resolvedOptions() {
      const shown = { locale: this.#locale, calendar: "gregory", numberingSystem: "latn", timeZone: "UTC" };
      for (const [name, value] of Object.entries(this.#fields)) if (value !== undefined) shown[name] = value;
      return shown;
    }
  }

  // Collation: letters compare by base letter first, then accents, then case (lower first), as
  // CLDR's root order does for Latin text; spaces and punctuation sort before digits, digits
  // before letters. Spanish orders ñ as a letter of its own after n.
  const COMBINING = /[\u0300-\u036f]/;
  const SENSITIVITIES = ["base", "accent", "case", "variant"];

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
        elements.push({ primary: `1${String(digits.length).padStart(4, "0")}${digits}`, accents: "", upper: false });
        index = end - 1;
        continue;
      }
      const lower = char.toLowerCase();
      const kind = /\p{L}/u.test(char) ? "2" : /\d/.test(char) ? "1" : "0";
      elements.push({ primary: kind + lower, accents: "", upper: lower !== char });
    }
    if (locale === "es-ES") {
      for (const element of elements) {
        if (element.primary === "2n" && element.accents.startsWith("\u0303")) {
          element.primary = "2n\uffff";
          element.accents = element.accents.slice(1);
        }
      }
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
      const a = collationElements(left, this.#locale, this.#numeric);
      const b = collationElements(right, this.#locale, this.#numeric);
      const primary = compareLevel(a, b, (element) => element.primary);
      if (primary !== 0) return primary;
      if (this.#sensitivity === "accent" || this.#sensitivity === "variant") {
        const accents = compareLevel(a, b, (element) => element.accents);
        if (accents !== 0) return accents;
      }
      if (this.#sensitivity === "case" || this.#sensitivity === "variant") {
        const upperFirst = this.#caseFirst === "upper";
        const cased = compareLevel(a, b, (element) => (element.upper !== upperFirst ? 1 : 0));
        if (cased !== 0) return cased;
      }
      return 0;
    }

    resolvedOptions() {
      return { locale: this.#locale, usage: "sort", sensitivity: this.#sensitivity, ignorePunctuation: false,
        collation: "default", numeric: this.#numeric, caseFirst: this.#caseFirst };
    }
  }

  function thisNumber(value) {
    if (typeof value === "number") return value;
    if (value instanceof Number) return value.valueOf();
    throw new TypeError("Number.prototype.toLocaleString requires that 'this' be a Number");
  }

  function thisTime(value, method) {
    if (!(value instanceof Date)) throw new TypeError(`Date.prototype.${method} called on incompatible receiver`);
    return value.getTime();
  }

  function dateMethod(method, defaults) {
    return function (locales, options) {
      const time = thisTime(this, method);
      if (Number.isNaN(time)) return "Invalid Date";
      const settings = options === undefined ? {} : Object(options);
      const named = Object.keys(FIELD_STYLES).filter((name) => settings[name] !== undefined);
      const styled = settings.dateStyle !== undefined || settings.timeStyle !== undefined;
      // toLocaleDateString always shows a date and toLocaleTimeString a time, whatever else is asked.
      const extra = {};
      if (!styled && defaults === "date" && !named.some((name) => ["weekday", "year", "month", "day"].includes(name))) {
        Object.assign(extra, { year: "numeric", month: "numeric", day: "numeric" });
      }
      if (!styled && defaults === "time" && !named.some((name) => ["hour", "minute", "second"].includes(name))) {
        Object.assign(extra, { hour: "numeric", minute: "numeric", second: "numeric" });
      }
      return new DateTimeFormat(locales, { ...settings, ...extra }, defaults).format(time);
    };
  }

  const Intl = {
    NumberFormat,
    DateTimeFormat,
    Collator,
    getCanonicalLocales(locales) {
      return locales === undefined ? [] : (typeof locales === "string" ? [locales] : Array.from(locales)).map(resolveLocale);
    },
  };
  Object.defineProperty(Intl, Symbol.toStringTag, { value: "Intl", configurable: true });

  return {
    Intl,
    numberToLocaleString(locales, options) {
      return new NumberFormat(locales, options).format(thisNumber(this));
    },
    dateToLocaleString: dateMethod("toLocaleString", "all"),
    dateToLocaleDateString: dateMethod("toLocaleDateString", "date"),
    dateToLocaleTimeString: dateMethod("toLocaleTimeString", "time"),
    localeCompare(that, locales, options) {
      if (this === null || this === undefined) {
        throw new TypeError("String.prototype.localeCompare called on null or undefined");
      }
      return new Collator(locales, options).compare(String(this), String(that));
    },
  };
})
