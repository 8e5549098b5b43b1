// FastDeploy's slice names, for consistent naming across stages: the six its tracing document lists, then the two
// spellings this package exported first (kept, so code written against them still compiles).
export enum TraceSpanName {
  FASTDEPLOY = 'FASTDEPLOY',
  PREPROCESS = 'PREPROCESS',
  SCHEDULE = 'SCHEDULE',
  PREFILL = 'PREFILL',
  DECODE = 'DECODE',
  POSTPROCESS = 'POSTPROCESS',
  PREPROCESSING = 'PREPROCESSING',
  POSTPROCESSING = 'POSTPROCESSING',
}
