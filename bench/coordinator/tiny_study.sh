# Sourced by the coordinator benchmarks: tiny_study FILE TASKS [POINTS] writes a study of
# TASKS tiny tasks (EDEN, N = 10 upwards, 2D) split evenly over POINTS parameter points
# (default 1), checkpointing every 10 s, without isolation: what stresses rank 0.
tiny_study() {
  local file=$1 tasks=$2 points=${3:-1}
  cat >"$file" <<YAML
seed: 42
execution: {chunk_size: auto, max_retries: 0, checkpoint_interval_s: 10, isolation: none}
studies:
  - name: tiny
    algorithm: EDEN
    base_parameters: {dimension: 2}
    variable_parameter: n_particles
    values: [$(seq -s, 10 $((9 + points)))]
    repetitions: $((tasks / points))
YAML
}
