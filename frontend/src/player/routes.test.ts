import { describe, expect, it } from 'vitest';
import { matchPlayerRoute, playerPaths } from './routes';

describe('matchPlayerRoute', () => {
  it('maps the player, result and start pages', () => {
    expect(matchPlayerRoute('/attempts/42')).toEqual({ page: 'attempt', id: '42' });
    expect(matchPlayerRoute('/attempts/42/result/')).toEqual({ page: 'attempt-result', id: '42' });
    expect(matchPlayerRoute('/exams/DEMO-QUICK/start')).toEqual({ page: 'start', code: 'DEMO-QUICK' });
  });

  it('leaves other paths to the app', () => {
    expect(matchPlayerRoute('/exams/DEMO-101')).toBeNull();
    expect(matchPlayerRoute('/attempts/')).toBeNull();
    expect(matchPlayerRoute('/attempts/%20')).toBeNull();
    expect(matchPlayerRoute('/attempts/%E0%A4%A')).toBeNull();
    expect(matchPlayerRoute('/attempts/1/other')).toBeNull();
  });

  it('round-trips the paths it makes', () => {
    expect(matchPlayerRoute(playerPaths.start('A B'))).toEqual({ page: 'start', code: 'A B' });
    expect(matchPlayerRoute(playerPaths.result('7'))).toEqual({ page: 'attempt-result', id: '7' });
  });

  it('leaves the way back to the course to the server', () => {
    expect(playerPaths.course('DEMO QUICK')).toBe('/exams/DEMO%20QUICK/course');
    expect(matchPlayerRoute(playerPaths.course('DEMO-QUICK'))).toBeNull();
  });
});
