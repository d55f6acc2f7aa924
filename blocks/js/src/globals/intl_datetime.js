(function (native, require) {
  "use strict";

  // Part of the hand-written Intl subset (see intl.js): en-US, en-GB, de-DE, fr-FR, es-ES, it-IT
  // and nl-NL, with CLDR's data for them as Node 20 (ICU 73+) shows it.
  // Dates are shown in UTC, the guest's only time zone.
  const { resolveLocale, supportedLocalesOf } = require("locale");

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
      monthYear: { long: "MMMM y", short: "MMM y" }, monthDay: { long: "MMMM d", short: "MMM d" },
      numericMonthDay: ["M/d", "MM/dd"], numericMonthYear: "M/y", weekdayNoYear: "EEEE, {date}", hourOnly: "h a",
      hour12: true, hour: "h", hour24: "HH", periods: ["AM", "PM"],
      joinStyled: "{date} 'at' {time}", join: "{date}, {time}", zone: "Coordinated Universal Time", zoneFull: "{time} zzzz",
    },
    "en-GB": {
      months: EN_MONTHS, monthsShort: [...short(EN_MONTHS).slice(0, 8), "Sept", "Oct", "Nov", "Dec"],
      weekdays: EN_WEEKDAYS, weekdaysShort: short(EN_WEEKDAYS),
      dateStyles: { full: "EEEE, d MMMM y", long: "d MMMM y", medium: "d MMM y", short: "dd/MM/y" },
      numeric: "dd/MM/y", textual: "d MMMM y", textualShort: "d MMM y", withWeekday: "EEEE, {date}",
      monthYear: { long: "MMMM y", short: "MMM y" }, monthDay: { long: "d MMMM", short: "d MMM" },
      numericMonthDay: ["dd/MM", "dd/MM"], numericMonthYear: "MM/y", weekdayNoYear: "EEEE {date}", hourOnly: "HH",
      hour12: false, hour: "HH", periods: ["am", "pm"],
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
      monthYear: { long: "MMMM y", short: "MMM y" }, monthDay: { long: "d. MMMM", short: "d. MMM" },
      numericMonthDay: ["d.M.", "dd.MM."], numericMonthYear: "M/y", weekdayNoYear: "EEEE, {date}", hourOnly: "HH 'Uhr'",
      hour12: false, hour: "HH", periods: ["AM", "PM"],
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
      monthYear: { long: "MMMM y", short: "MMM y" }, monthDay: { long: "d MMMM", short: "d MMM" },
      numericMonthDay: ["dd/MM", "dd/MM"], numericMonthYear: "MM/y", weekdayNoYear: "EEEE {date}", hourOnly: "HH 'h'",
      hour12: false, hour: "HH", periods: ["AM", "PM"],
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
      monthYear: { long: "MMMM 'de' y", short: "MMM y" },
      monthDay: { long: "d 'de' MMMM", short: "d MMM" }, numericMonthDay: ["d/M", "d/M"], numericMonthYear: "M/y",
      weekdayNoYear: "EEEE, {date}", hourOnly: "H",
      hour12: false, hour: "H", periods: ["a. m.", "p. m."],
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
      monthYear: { long: "MMMM y", short: "MMM y" }, monthDay: { long: "d MMMM", short: "d MMM" },
      numericMonthDay: ["dd/MM", "dd/MM"], numericMonthYear: "MM/y", weekdayNoYear: "EEEE {date}", hourOnly: "H",
      hour12: false, hour: "HH", periods: ["AM", "PM"],
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
      monthYear: { long: "MMMM y", short: "MMM y" }, monthDay: { long: "d MMMM", short: "d MMM" },
      numericMonthDay: ["d-M", "dd-MM"], numericMonthYear: "M-y", weekdayNoYear: "EEEE {date}", hourOnly: "HH",
      hour12: false, hour: "HH", periods: ["a.m.", "p.m."],
      joinStyled: "{date} 'om' {time}", join: "{date}, {time}", zone: "gecoördineerde wereldtijd", zoneFull: "{time} zzzz",
    },
  };

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
    const monthLetters = month === "long" ? "MMMM" : "MMM";
    const length = month === "long" ? "long" : "short";
    if (textMonth && year && day) {
      date = month === "long" ? data.textual : data.textualShort;
    } else if (textMonth && year) {
      date = data.monthYear[length];
    } else if (textMonth && day) {
      date = data.monthDay[length];
    } else if (textMonth) {
      date = month === "long" ? "LLLL" : "LLL";
    } else if (year && month && day) {
      date = data.numeric;
      if (month === "2-digit") date = date.replace(/M+/, "MM");
      if (day === "2-digit") date = date.replace(/d+/, "dd");
    } else if (month && day) {
      date = data.numericMonthDay[month === "2-digit" || day === "2-digit" ? 1 : 0];
    } else if (month && year) {
      date = data.numericMonthYear;
    } else if (year) {
      date = "y";
    } else if (month) {
      date = month === "2-digit" ? "MM" : "M";
    } else if (day) {
      date = day === "2-digit" ? "dd" : "d";
    }
    if (year === "2-digit") date = date.replace(/y+/, "yy");
    if (weekday) {
      const letters = weekday === "long" ? "EEEE" : "EEE";
      const frame = year ? data.withWeekday : data.weekdayNoYear;
      date = date ? frame.replace("EEEE", letters).replace("{date}", date) : weekday === "long" ? "cccc" : "ccc";
    }
    let time = "";
    if (hour || minute || second) {
      const twelve = hour12 ?? data.hour12;
      time = [hour && hourLetters(data, hour, minute, second, hour12), minute && "mm", second && "ss"].filter(Boolean).join(":");
      if (hour && !minute && !second && hour12 === undefined) time = data.hourOnly;
      else if (twelve && hour) time += " a";
      if (timeZoneName) time += timeZoneName === "long" ? " zzzz" : " z";
    }
    if (!date || !time) return date || time;
    const join = month === "long" ? data.joinStyled : textMonth ? data.joinMedium ?? data.join : data.join;
    return join.replace("{date}", date).replace("{time}", time);
  }

  // The hour letters for component options: h 1-12, K 0-11 (a 24-hour locale asked for 12
  // hours), H 0-23. ICU pads the 24-hour clock unless the minutes or seconds were asked for as
  // 2-digit, and pads K as the locale pads H.
  function hourLetters(data, hour, minute, second, hour12) {
    const twelve = hour12 ?? data.hour12;
    if (twelve) {
      const letter = data.hour12 ? "h" : "K";
      return hour === "2-digit" ? letter + letter : letter;
    }
    if (hour === "2-digit") return "HH";
    if (data.hour12) return data.hour24;
    if (minute === "2-digit" || second === "2-digit" || hour12 === false) return "H";
    return data.hour;
  }

  function timePattern(data, style, hour12) {
    const twelve = hour12 ?? data.hour12;
    // hour12: false in a 12-hour locale gives ICU's 1-24 clock (k), as Node shows "24:05".
    const hour = data.hour12 ? (twelve ? "h" : "kk") : twelve ? data.hour.replace(/H/g, "K") : data.hour;
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
      K: () => String(hours % 12),
      KK: () => pad(hours % 12, 2),
      kk: () => pad(hours || 24, 2),
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
    return pattern.replace(/'([^']*)'|([yMLdEcHhKkmsaz])\2*/g, (token, literal) =>
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

    static supportedLocalesOf(locales) {
      return supportedLocalesOf(locales);
    }

    resolvedOptions() {
      const shown = { locale: this.#locale, calendar: "gregory", numberingSystem: "latn", timeZone: "UTC" };
      for (const [name, value] of Object.entries(this.#fields)) if (value !== undefined) shown[name] = value;
      return shown;
    }
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

  return {
    DateTimeFormat,
    dateToLocaleString: dateMethod("toLocaleString", "all"),
    dateToLocaleDateString: dateMethod("toLocaleDateString", "date"),
    dateToLocaleTimeString: dateMethod("toLocaleTimeString", "time"),
  };
})
