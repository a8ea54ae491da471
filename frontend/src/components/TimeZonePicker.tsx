import { useId, useMemo } from 'react';
import { request } from '../graphql/client';
import { SetTimeZoneDocument } from '../booking/operations';
import { chooseTimeZone, timeZoneOptions, useTimeZone } from '../format/timeZone';

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

export function TimeZonePicker() {
  const zone = useTimeZone();
  const id = useId();
  const options = useMemo(() => timeZoneOptions(zone), [zone]);
  return (
    <div className="zone-picker">
      <label htmlFor={id}>Time zone</label>
      <select
        id={id}
        value={zone}
        onChange={(e) => {
          chooseTimeZone(e.target.value);
          rememberTimeZone(e.target.value);
        }}
      >
        {options.map((name) => (
          <option key={name} value={name}>
            {name.replaceAll('_', ' ')}
          </option>
        ))}
      </select>
    </div>
  );
}
