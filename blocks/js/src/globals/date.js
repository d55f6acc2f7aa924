(function (native) {
  "use strict";

  const NativeDate = native.Date;
  const MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december"];
  const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
  const ZONES = { z: 0, ut: 0, utc: 0, gmt: 0, est: -300, edt: -240, cst: -360, cdt: -300, mst: -420,
    mdt: -360, pst: -480, pdt: -420 };

  // A word names a month or weekday when it is at least its first three letters.
  const nameIndex = (names, word) => (word.length >= 3 ? names.findIndex((name) => name.startsWith(word)) : -1);

  // "2024-03-15 10:30:00", with a space where ISO wants a T; no zone means local time, which is UTC here.
  const SPACED_ISO = /^(\d{4})-(\d{2})-(\d{2})[ T]+(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?\s*(z|[+-]\d{2}(?::?\d{2})?)?$/i;

  const TOKEN = /\s*(?:(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?|([+-])(\d{1,4})(?::(\d{2}))?|(\d+)((?:[/.-]\d+){2})?|([a-z]+)\.?|([,./-]))/iy;

  function offsetMinutes(sign, hours, minutes) {
    return (sign === "-" ? -1 : 1) * (Number(hours) * 60 + Number(minutes || 0));
  }

  // "+2", "+02", "+0530" or "+05:30".
  function offsetOf(sign, digits, minutes) {
    if (minutes !== undefined || digits.length <= 2) return offsetMinutes(sign, digits, minutes);
    return offsetMinutes(sign, digits.slice(0, -2), digits.slice(-2));
  }

  function milliseconds(fraction) {
    return fraction ? Number(fraction.slice(0, 3).padEnd(3, "0")) : 0;
  }

  function fullYear(text) {
    const year = Number(text);
    // Two-digit years as the legacy parsers read them: 00-49 this century, 50-99 the last.
    if (text.length <= 2) return year < 50 ? 2000 + year : 1900 + year;
    return year;
  }

  function toTime(fields) {
    const { year, month, day, hour = 0, minute = 0, second = 0, millisecond = 0, offset = 0, meridiem } = fields;
    let hours = hour;
    if (meridiem !== undefined) {
      if (hours < 1 || hours > 12) return NaN;
      hours = (hours % 12) + (meridiem === "pm" ? 12 : 0);
    }
    if (!(month >= 1 && month <= 12 && day >= 1 && day <= 31 && hours <= 24 && minute <= 59 && second <= 59)) {
      return NaN;
    }
    if (hours === 24 && (minute || second || millisecond)) return NaN;
    return NativeDate.UTC(year, month - 1, day, hours, minute, second, millisecond) - offset * 60000;
  }

  // The forms Node's legacy parser reads that boa's ISO parser does not: RFC 2822, "March 15,
  // 2024 10:30 UTC", "15 Mar 2024", "2024/03/15", "3/15/2024", "Fri Mar 15 2024 ... GMT+0000".
  function parseLenient(input) {
    const text = String(input).replace(/\([^)]*\)/g, " ").trim();
    const iso = SPACED_ISO.exec(text);
    if (iso) {
      const [, year, month, day, hour, minute, second, fraction, zone] = iso;
      const digits = zone && zone.replace(":", "");
      const offset = !zone || digits.toLowerCase() === "z" ? 0 : offsetMinutes(digits[0], digits.slice(1, 3), digits.slice(3));
      return toTime({ year: Number(year), month: Number(month), day: Number(day), hour: Number(hour),
        minute: Number(minute), second: Number(second || 0), millisecond: milliseconds(fraction), offset });
    }
    const fields = {};
    const numbers = [];
    TOKEN.lastIndex = 0;
    let position = 0;
    while (position < text.length) {
      TOKEN.lastIndex = position;
      const token = TOKEN.exec(text);
      if (token === null) return NaN;
      position = TOKEN.lastIndex;
      const [, hour, minute, second, fraction, sign, offsetHours, offsetMinutesText, number, dateRest, word] = token;
      if (hour !== undefined) {
        if (fields.hour !== undefined) return NaN;
        Object.assign(fields, { hour: Number(hour), minute: Number(minute), second: Number(second || 0),
          millisecond: milliseconds(fraction) });
      } else if (sign !== undefined) {
        // A sign is an offset only after a time or a zone name; elsewhere it separates ("21-Mar-2024").
        if (fields.hour === undefined && fields.offset === undefined) numbers.push(offsetHours);
        else fields.offset = (fields.offset ?? 0) + offsetOf(sign, offsetHours, offsetMinutesText);
      } else if (dateRest !== undefined) {
        const parts = [number, ...dateRest.slice(1).split(/[/.-]/)];
        const [year, month, day] = number.length >= 3 ? parts : [parts[2], parts[0], parts[1]];
        Object.assign(fields, { year: fullYear(year), month: Number(month), day: Number(day) });
      } else if (number !== undefined) {
        numbers.push(number);
      } else if (word !== undefined) {
        const lower = word.toLowerCase();
        if (lower === "am" || lower === "pm") fields.meridiem = lower;
        else if (lower in ZONES) fields.offset = ZONES[lower];
        else if (nameIndex(MONTHS, lower) !== -1) fields.month = nameIndex(MONTHS, lower) + 1;
        else if (nameIndex(WEEKDAYS, lower) === -1) return NaN;
      }
    }
    if (fields.year === undefined && fields.month !== undefined && numbers.length === 1 && Number(numbers[0]) > 31) {
      // "March 2024": the first of the month.
      Object.assign(fields, { year: fullYear(numbers[0]), day: 1 });
    } else if (fields.year === undefined) {
      if (fields.month === undefined || numbers.length !== 2) return NaN;
      // With a month name the day and year may come in either order; the year is the one past 31.
      const yearFirst = numbers[0].length >= 3 || Number(numbers[0]) > 31;
      const [year, day] = yearFirst ? numbers : [numbers[1], numbers[0]];
      Object.assign(fields, { year: fullYear(year), day: Number(day) });
    } else if (numbers.length !== 0) {
      return NaN;
    }
    return toTime(fields);
  }

  function parse(text) {
    const time = NativeDate.parse(text);
    return Number.isNaN(time) ? parseLenient(text) : time;
  }

  // The same Date in every other respect: one prototype, so instanceof and subclasses still work.
  function Date(...args) {
    if (new.target === undefined) return NativeDate();
    if (args.length === 1 && typeof args[0] === "string") {
      return Reflect.construct(NativeDate, [parse(args[0])], new.target);
    }
    return Reflect.construct(NativeDate, args, new.target);
  }
  Object.defineProperty(Date, "length", { value: 7 });
  Object.defineProperty(Date, "prototype", { value: NativeDate.prototype, writable: false });
  Object.defineProperty(NativeDate.prototype, "constructor", { value: Date, writable: true, configurable: true });
  for (const name of ["now", "UTC"]) {
    Object.defineProperty(Date, name, { value: NativeDate[name], writable: true, configurable: true });
  }
  Object.defineProperty(Date, "parse", {
    value: function parse_(text) {
      return parse(String(text));
    },
    writable: true,
    configurable: true,
  });
  Object.defineProperty(Date.parse, "name", { value: "parse" });

  return { Date };
})
