(function () {
  "use strict";

  // Which of the subset's locales a request means, shared by every Intl service.
  const SUPPORTED = ["en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "it-IT", "nl-NL"];
  const DEFAULT_LOCALE = "en-US";
  // A bare language, or a region this subset lacks, takes the language's listed locale.
  const BY_LANGUAGE = { en: "en-US", de: "de-DE", fr: "fr-FR", es: "es-ES", it: "it-IT", nl: "nl-NL" };

  function requestedTags(locales) {
    const requested = locales === undefined ? [] : typeof locales === "string" ? [locales] : Array.from(locales);
    return requested.map((tag) => {
      if (typeof tag !== "string" && !(tag instanceof String)) throw new TypeError("Language ID should be string or object.");
      const [language = "", ...rest] = String(tag).split(/[-_]/);
      if (!/^[a-z]{2,8}$/i.test(language) || rest.some((part) => !/^[a-z0-9]{1,8}$/i.test(part))) {
        throw new RangeError(`Incorrect locale information provided`);
      }
      // BCP 47 case: language lower, a two-letter region upper, a four-letter script title-cased.
      const subtags = rest.map((part) => (part.length === 2 ? part.toUpperCase()
        : part.length === 4 ? part[0].toUpperCase() + part.slice(1).toLowerCase() : part.toLowerCase()));
      return [language.toLowerCase(), ...subtags].join("-");
    });
  }

  function resolveLocale(locales) {
    for (const tag of requestedTags(locales)) {
      const [language] = tag.split("-");
      const region = tag.split("-").find((part) => /^[A-Z]{2}$/.test(part));
      const exact = `${language}-${region}`;
      if (SUPPORTED.includes(exact)) return exact;
      if (language in BY_LANGUAGE) return BY_LANGUAGE[language];
    }
    return DEFAULT_LOCALE;
  }

  function supportedLocalesOf(locales) {
    return requestedTags(locales).filter((tag) => tag.split("-")[0] in BY_LANGUAGE);
  }

  return { resolveLocale, requestedTags, supportedLocalesOf };
})
