// What a user writes in a study file, and what fracstudy makes of it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <stdexcept>

#include "fracstudy/study/errors.hpp"
#include "fracstudy/study/parser.hpp"
#include "fracstudy/study/tasks.hpp"
#include "fracstudy/study/writer.hpp"

using namespace fracstudy::study;
using fracstudy::kernels::Parameter;

namespace {

StudyFile parse(const std::string& text) {
  return parse_study_text(text, "test.yaml");
}

}  // namespace

TEST(StudyFile, SweepOfValuesWithDefaults) {
  const auto file = parse(R"(
seed: 42
studies:
  - name: dla_n_sweep
    algorithm: DLA
    base_parameters: {dimension: 3, particle_radius: 0.5}
    variable_parameter: n_particles
    values: [100, 200, 300]
    repetitions: 5
)");
  ASSERT_EQ(file.studies.size(), 1u);
  const auto& s = file.studies[0];
  EXPECT_EQ(file.seed, 42u);
  EXPECT_EQ(s.points.size(), 3u);
  EXPECT_EQ(s.task_count(), 15);
  EXPECT_EQ(s.points[2].n_particles, 300);
  EXPECT_EQ(s.points[2].dimension, 3);
  EXPECT_DOUBLE_EQ(s.points[2].particle_radius, 0.5);
  EXPECT_DOUBLE_EQ(s.points[2].sticking_probability, 1.0);  // the contract's default
  EXPECT_EQ(s.varied, std::vector<Parameter>{Parameter::NParticles});
  EXPECT_EQ(file.execution.max_retries, 3);
  EXPECT_FALSE(file.execution.chunk_size.has_value());
}

TEST(StudyFile, RangeIncludesStopAndDoesNotDrift) {
  const auto file = parse(R"(
studies:
  - name: r
    algorithm: DLA
    variable_parameter: sticking_probability
    range: {start: 0.1, stop: 1.0, step: 0.1}
)");
  const auto& points = file.studies[0].points;
  ASSERT_EQ(points.size(), 10u);
  EXPECT_DOUBLE_EQ(points.back().sticking_probability, 1.0);
  EXPECT_DOUBLE_EQ(points[2].sticking_probability, 0.1 + 2 * 0.1);
}

TEST(StudyFile, ARangeWhoseLastValueRoundingCarriesPastItsLimitEndsAtStop) {
  // 0.09 + 13 x 0.07 is 1.0000000000000002: the range was refused, "value 1 must be a number
  // with 0 < p <= 1".
  const auto file = parse(R"(
studies:
  - name: r
    algorithm: DLA
    variable_parameter: sticking_probability
    range: {start: 0.09, stop: 1.0, step: 0.07}
)");
  const auto& points = file.studies[0].points;
  ASSERT_EQ(points.size(), 14u);
  EXPECT_EQ(points.back().sticking_probability, 1.0);
}

TEST(StudyFile, GridIsEveryCombinationLastKeyFastest) {
  const auto file = parse(R"(
execution: {chunk_size: 8, max_retries: 0, task_time_limit_s: 30, checkpoint_interval_s: 2}
studies:
  - name: g
    algorithm: DLA
    grid:
      n_particles: [500, 1000]
      sticking_probability: {start: 0.25, stop: 1.0, step: 0.25}
    repetitions: 3
)");
  const auto& s = file.studies[0];
  ASSERT_EQ(s.points.size(), 8u);
  EXPECT_EQ(s.task_count(), 24);
  EXPECT_EQ(s.points[0].n_particles, 500);
  EXPECT_DOUBLE_EQ(s.points[1].sticking_probability, 0.5);
  EXPECT_EQ(s.points[4].n_particles, 1000);
  EXPECT_EQ(file.execution.chunk_size, 8);
  EXPECT_EQ(file.execution.max_retries, 0);
  EXPECT_DOUBLE_EQ(file.execution.task_time_limit_s, 30);
}

TEST(StudyFile, MonteCarloAndSeveralStudies) {
  const auto file = parse(R"(
output: results/out.h5
studies:
  - name: mc
    algorithm: DLA
    base_parameters: {n_particles: 200}
    repetitions: 20
  - name: second
    algorithm: DLA
    variable_parameter: dimension
    values: [2, 3]
)");
  ASSERT_EQ(file.studies.size(), 2u);
  EXPECT_EQ(file.studies[0].task_count(), 20);
  EXPECT_EQ(file.studies[1].task_count(), 2);
  EXPECT_EQ(file.task_count(), 22);
  EXPECT_EQ(file.output, "results/out.h5");
  EXPECT_EQ(file.studies[1].line, 8);
}

TEST(Tasks, SeedsDependOnIdentityNotOrder) {
  const auto file = parse(R"(
seed: 7
studies:
  - name: s
    algorithm: DLA
    variable_parameter: n_particles
    values: [100, 200]
    repetitions: 3
)");
  const auto tasks = expand_tasks(file);
  ASSERT_EQ(tasks.size(), 6u);
  std::set<std::uint64_t> seeds;
  for (const auto& task : tasks)
    seeds.insert(task.seed);
  EXPECT_EQ(seeds.size(), 6u);
  EXPECT_EQ(tasks[4].task_id, 4);
  EXPECT_EQ(tasks[4].point, 1u);
  EXPECT_EQ(tasks[4].repetition, 1);
  // The same point and repetition get the same seed when the sweep is listed in another
  // order, so adding or reordering values never changes existing results.
  const auto reordered = expand_tasks(parse(R"(
seed: 7
studies:
  - name: s
    algorithm: DLA
    variable_parameter: n_particles
    values: [200, 100, 300]
    repetitions: 3
)"));
  EXPECT_EQ(reordered[0].seed, tasks[3].seed);
  EXPECT_EQ(reordered[4].seed, tasks[1].seed);
  // Another master seed changes every task's seed.
  const auto other = expand_tasks(parse(R"(
seed: 8
studies:
  - name: s
    algorithm: DLA
    variable_parameter: n_particles
    values: [100, 200]
    repetitions: 3
)"));
  for (std::size_t i = 0; i < tasks.size(); ++i)
    EXPECT_NE(other[i].seed, tasks[i].seed);
}

TEST(Tasks, ATaskIsFoundByItsIndexAcrossStudies) {
  // Workers look tasks up by index instead of holding the list: the same tasks, study by
  // study, and nothing past the end.
  const auto file = parse(R"(
seed: 3
studies:
  - name: a
    algorithm: DLA
    variable_parameter: n_particles
    values: [100, 200]
    repetitions: 3
  - name: b
    algorithm: EDEN
    grid: {n_particles: [10, 20], dimension: [2, 3]}
    repetitions: 2
)");
  const auto tasks = expand_tasks(file);
  ASSERT_EQ(tasks.size(), 14u);
  const Task& first_of_b = tasks[6];
  EXPECT_EQ(first_of_b.study, 1u);
  EXPECT_EQ(first_of_b.task_id, 0);
  EXPECT_EQ(tasks[13].point, 3u);
  EXPECT_EQ(tasks[13].repetition, 1);
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const Task task = task_at(file, i);
    EXPECT_EQ(task.study, tasks[i].study);
    EXPECT_EQ(task.task_id, tasks[i].task_id);
    EXPECT_EQ(task.point, tasks[i].point);
    EXPECT_EQ(task.repetition, tasks[i].repetition);
    EXPECT_EQ(task.seed, derive_seed(3, file.studies[task.study],
                                     file.studies[task.study].points[task.point], task.repetition));
  }
  EXPECT_THROW(task_at(file, 14), std::out_of_range);
}

TEST(StudyFile, NearestKeySuggestsTyposOnly) {
  const std::vector<std::string> known = {"repetitions", "name", "grid"};
  EXPECT_EQ(nearest_key("repetitons", known), "repetitions");
  EXPECT_EQ(nearest_key("nmae", known), "name");
  EXPECT_EQ(nearest_key("temperature", known), "");
}

/// Every file in tests/data/bad states the error it must give: its line and a fragment.
class BadStudyFile : public ::testing::TestWithParam<std::string> {};

TEST_P(BadStudyFile, GivesOneLineErrorWithFileLineAndKey) {
  const std::string path = GetParam();
  std::ifstream in(path);
  std::string first, second;
  std::getline(in, first);
  std::getline(in, second);
  const int line = std::stoi(first.substr(first.find(':') + 1));
  const std::string fragment = second.substr(second.find(':') + 2);
  try {
    load_study_file(path);
    FAIL() << path << " was accepted";
  } catch (const StudyFileError& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_EQ(message.rfind(path + ":" + std::to_string(line) + ": ", 0), 0u) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
  }
}

std::vector<std::string> bad_files() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(FRACSTUDY_BAD_STUDY_DIR)) {
    files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string file_stem(const ::testing::TestParamInfo<std::string>& param_info) {
  return std::filesystem::path(param_info.param).stem().string();
}

INSTANTIATE_TEST_SUITE_P(Table, BadStudyFile, ::testing::ValuesIn(bad_files()), file_stem);

TEST(StudyFile, MissingFileIsInputError) {
  EXPECT_THROW(load_study_file("/nonexistent/study.yaml"), InputError);
}

TEST(StudyWriter, WhatItWritesParsesBackToTheSameStudies) {
  using namespace fracstudy::study;
  StudyDraft sweep;
  sweep.name = "null";  // a name YAML would otherwise read as nothing
  sweep.algorithm = fracstudy::kernels::Algorithm::CCA;
  sweep.base_parameters = {{Parameter::VolumeFraction, 0.001}, {Parameter::Dimension, 3}};
  sweep.axes = {{Parameter::StickingProbability, {0.1, 1.0 / 3.0, 1.0}}};
  sweep.repetitions = 4;
  StudyDraft grid;
  grid.name = "g";
  grid.axes = {{Parameter::NParticles, {100, 1e9}}, {Parameter::ParticleRadius, {0.5}}};
  grid.grid = true;
  const std::string text = write_study_file({"written by a test", 77, {sweep, grid}});
  const auto file = parse_study_text(text, "w.yaml");
  EXPECT_EQ(file.seed, 77u);
  ASSERT_EQ(file.studies.size(), 2u);
  const auto& a = file.studies[0];
  EXPECT_EQ(a.name, "null");
  EXPECT_EQ(a.algorithm, fracstudy::kernels::Algorithm::CCA);
  EXPECT_EQ(a.repetitions, 4);
  ASSERT_EQ(a.points.size(), 3u);
  EXPECT_EQ(a.points[1].sticking_probability, 1.0 / 3.0);  // exactly: same seeds
  EXPECT_EQ(a.points[0].volume_fraction, 0.001);
  EXPECT_EQ(a.points[0].dimension, 3);
  const auto& b = file.studies[1];
  EXPECT_EQ(b.varied, (std::vector<Parameter>{Parameter::NParticles, Parameter::ParticleRadius}));
  ASSERT_EQ(b.points.size(), 2u);
  EXPECT_EQ(b.points[1].n_particles, 1000000000);
  EXPECT_NE(text.find("# written by a test"), std::string::npos);
}
