export { explore, planSequence, type Counterexample, type ExploreOptions, type ExploreReport, type ExploreWorld } from './explore.ts';
export { commandArbitraries, ExploreModel, Plan, KEY_NAMES, type KeyName, type PlannedStep } from './commands.ts';
export { scenarioText, loadGenerated, type ScenarioText } from './scenario.ts';
