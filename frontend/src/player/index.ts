// What the rest of the app uses from the player.
export { ContinueAttempt } from './ContinueAttempt';
export { ExamFacts } from './ExamFacts';
export { LatestResult, type ResultSummary } from './LatestResult';
export { PlayerRoutes } from './PlayerRoutes';
export { matchPlayerRoute, playerPaths, type PlayerRoute } from './routes';
export { StartOnDemand } from './StartOnDemand';
