// FastDeploy's slice names, for consistent naming across stages.
export enum TraceSpanName {
  FASTDEPLOY = 'FASTDEPLOY',
  PREPROCESSING = 'PREPROCESSING',
  SCHEDULE = 'SCHEDULE',
  PREFILL = 'PREFILL',
  DECODE = 'DECODE',
  POSTPROCESSING = 'POSTPROCESSING',
}
