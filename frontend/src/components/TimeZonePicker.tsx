import { useId, useMemo, useState } from 'react';
import { request } from '../graphql/client';
import { SetTimeZoneDocument } from '../booking/operations';
import { chooseTimeZone, searchZones, timeZoneOptions, useTimeZone } from '../format/timeZone';

let sent: string | null = null;

/**
 * Tells the server the learner's zone so that emails use it. Fire and
 * forget: the page works without it, so failures stay quiet.
 */
export function rememberTimeZone(timeZone: string, serverValue?: string | null): void {
  if (timeZone === serverValue || timeZone === sent) return;
  sent = timeZone;
  request(SetTimeZoneDocument, { timeZone }).catch(() => {
    sent = null;
  });
}

/**
 * The learner's zone: a search field narrows the list (a place, a region or
 * an offset such as "+1"), each zone shows its current UTC offset, and the
 * list runs west to east.
 */
export function TimeZonePicker() {
  const zone = useTimeZone();
  const id = useId();
  const [query, setQuery] = useState('');
  // Naming 400-odd zones with their offsets takes a formatter each: done
  // when the learner reaches for the picker, not on every page load.
  const [open, setOpen] = useState(false);
  const reach = () => setOpen(true);
  const options = useMemo(
    () => searchZones(open ? timeZoneOptions(zone) : [zone], query, zone, Date.now()),
    [open, zone, query],
  );
  return (
    <div className="zone-picker">
      <label htmlFor={id}>Time zone</label>
      <input
        type="search"
        className="zone-search"
        aria-label="Search time zones"
        aria-controls={id}
        placeholder="Search: city or UTC+1"
        value={query}
        onFocus={reach}
        onChange={(e) => {
          reach();
          setQuery(e.target.value);
        }}
      />
      <select
        id={id}
        value={zone}
        onFocus={reach}
        onPointerDown={reach}
        onChange={(e) => {
          chooseTimeZone(e.target.value);
          rememberTimeZone(e.target.value);
        }}
      >
        {options.map(({ name, label }) => (
          <option key={name} value={name}>
            {label}
          </option>
        ))}
      </select>
    </div>
  );
}
