(function (native, require) {
  "use strict";

  // A hand-written subset of Intl for en-US, en-GB, de-DE, fr-FR, es-ES, it-IT and nl-NL, with
  // CLDR's data for them as Node 20 (ICU 73+) shows it, and the UTC time zone only. Each
  // service is its own module, loaded when first asked for, so toLocaleString on a number
  // does not parse the date tables.
  const { requestedTags } = require("locale");
  const Intl = {
    getCanonicalLocales(locales) {
      return [...new Set(requestedTags(locales))];
    },
  };
  // Intl's constructors, unlike classes, may be called without new; one proxy per service, so
  // Intl.NumberFormat === Intl.NumberFormat.
  const proxies = new Map();
  function callableWithoutNew(Service) {
    if (!proxies.has(Service)) {
      proxies.set(Service, new Proxy(Service, { apply: (target, _, args) => new target(...args) }));
    }
    return proxies.get(Service);
  }
  const SERVICES = { NumberFormat: "intl-number", DateTimeFormat: "intl-datetime", Collator: "intl-collator" };
  for (const [name, module] of Object.entries(SERVICES)) {
    Object.defineProperty(Intl, name, {
      get: () => callableWithoutNew(require(module)[name]),
      set(value) {
        Object.defineProperty(Intl, name, { value, writable: true, configurable: true });
      },
      configurable: true,
    });
  }
  Object.defineProperty(Intl, Symbol.toStringTag, { value: "Intl", configurable: true });

  return { Intl };
})
