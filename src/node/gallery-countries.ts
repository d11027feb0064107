/**
 * @module node/gallery-countries
 * The Node edge of the offline country lookup: reads world-atlas' `countries-110m.json` from the
 * installed package (no network) once per process and hands it to the pure core lookup.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { countryLookup, type CountryOf } from '../core/gallery/countries.js';

let cached: CountryOf | undefined;

/** The lookup over the bundled `countries-110m`; built on first use (about 40 ms). */
export function loadCountryLookup(): CountryOf {
  if (!cached) {
    const file = createRequire(import.meta.url).resolve('world-atlas/countries-110m.json');
    cached = countryLookup(JSON.parse(readFileSync(file, 'utf8')));
  }
  return cached;
}
