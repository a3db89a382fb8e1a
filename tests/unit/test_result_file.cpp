// Writing a result file and reading it back, as `status`, `export` and `--resume` do.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string_view>

#include <hdf5.h>

#include "fracstudy/io/errors.hpp"
#include "fracstudy/io/journal.hpp"
#include "fracstudy/io/result_file.hpp"
#include "fracstudy/io/result_writer.hpp"
#include "fracstudy/study/errors.hpp"
#include "fracstudy/study/parser.hpp"
#include "fracstudy/study/progress.hpp"
#include "fracstudy/study/statistics.hpp"
#include "scratch_dir.hpp"

using namespace fracstudy;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() {
  return test_support::scratch_dir();
}

const char* kStudy = R"(seed: 3
studies:
  - name: sweep
    algorithm: DLA
    variable_parameter: n_particles
    values: [100, 200]
    repetitions: 2
  - name: mc
    algorithm: DLA
    base_parameters: {dimension: 3, sticking_probability: 0.5}
)";

/// CRC-32 (IEEE 802.3), as the journal computes it for each entry's payload.
std::uint32_t crc32_of(std::string_view payload) {
  std::uint32_t crc = 0xFFFFFFFFU;
  for (char c : payload) {
    crc ^= static_cast<unsigned char>(c);
    for (int k = 0; k < 8; ++k)
      crc = (crc & 1) ? 0xEDB88320U ^ (crc >> 1) : crc >> 1;
  }
  return crc ^ 0xFFFFFFFFU;
}

/// A record of a task that ended, with its first metrics (df, rg, kf).
study::TaskRecord ended(study::TaskStatus status, int attempts, int worker, double wall_time_s,
                        std::string error, double df, double rg, double kf) {
  study::TaskRecord record;
  record.status = status;
  record.attempts = attempts;
  record.worker_rank = worker;
  record.wall_time_s = wall_time_s;
  record.error = std::move(error);
  record.metrics.value("df") = df;
  record.metrics.value("rg") = rg;
  record.metrics.value("kf") = kf;
  return record;
}

}  // namespace

TEST(ResultFile, RoundTripKeepsRecordsAttributesAndSummary) {
  const auto file = study::parse_study_text(kStudy, "s.yaml");
  const auto tasks = study::expand_tasks(file);
  std::vector<study::TaskRecord> records(tasks.size());
  records[0] = ended(study::TaskStatus::Completed, 1, 1, 0.5, "", 1.7, 10.0, 1.1);
  records[1] = ended(study::TaskStatus::Completed, 2, 2, 0.25, "", 1.8, 12.0, 1.2);
  records[2] = ended(study::TaskStatus::Failed, 4, 1, 3.0, "timeout", NAN, NAN, NAN);
  records[1].metrics.value("fit_n_min") = 10;
  std::vector<io::StudyRun> runs(2);
  runs[0].status = study::StudyStatus::Running;
  runs[0].created_at = "2026-01-01T00:00:00Z";
  const auto path = (temp_dir() / "roundtrip.h5").string();
  io::write_result_file(path, io::ResultSnapshot{&file, &tasks, records, runs, 3});
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  const io::ResultReader reader(path);
  const auto& data = reader.data();
  EXPECT_EQ(data.study_yaml, kStudy);
  EXPECT_EQ(data.ranks, 3);
  ASSERT_EQ(data.studies.size(), 2u);
  const auto& sweep = data.studies[0];
  EXPECT_EQ(sweep.name, "sweep");
  EXPECT_EQ(sweep.status, study::StudyStatus::Running);
  EXPECT_EQ(sweep.total, 4);
  EXPECT_EQ(sweep.completed, 2);
  EXPECT_EQ(sweep.failed, 1);
  EXPECT_EQ(sweep.created_at, "2026-01-01T00:00:00Z");
  const io::Table columns{reader.task_columns(0), {}};
  EXPECT_TRUE(columns.find("n_particles"));
  EXPECT_FALSE(columns.find("volume_fraction"));  // not a DLA parameter
  const auto back = reader.records(0);
  ASSERT_EQ(back.size(), 4u);
  EXPECT_EQ(back[1].attempts, 2);
  EXPECT_EQ(back[1].metrics.value("df"), 1.8);
  EXPECT_EQ(back[1].metrics.value("fit_n_min"), 10);
  EXPECT_TRUE(std::isnan(back[0].metrics.value("fit_n_min")));  // no value: NaN, never 0
  EXPECT_EQ(back[2].error, "timeout");
  EXPECT_TRUE(std::isnan(back[2].metrics.value("df")));
  EXPECT_EQ(back[3].status, study::TaskStatus::Pending);
  reader.for_each_row(0, [&](std::size_t i, const auto& names, const auto& row) {
    const auto seed = *io::Table{names, {}}.find("seed");
    EXPECT_EQ(std::get<std::uint64_t>(row[seed]), tasks[i].seed);
  });
  // Summary: point n=100 has two samples with df 1.7 and 1.8 (no journal: as written).
  const auto& summary = reader.summary(0);
  EXPECT_EQ(&summary, &sweep.summary);
  ASSERT_EQ(summary.rows.size(), 2u);
  EXPECT_EQ(io::Table::number(summary.rows[0][*summary.find("n_samples")]), 2);
  EXPECT_NEAR(io::Table::number(summary.rows[0][*summary.find("mean_df")]), 1.75, 1e-12);
  EXPECT_EQ(io::Table::number(summary.rows[1][*summary.find("n_failed")]), 1);
  EXPECT_EQ(reader.records(1).size(), 1u);
}

TEST(ResultFile, ForeignAndMissingFilesAreBadInput) {
  const auto dir = temp_dir();
  EXPECT_THROW(io::ResultReader((dir / "missing.h5").string()), io::ResultFileError);
  const auto text_file = (dir / "not.h5").string();
  std::ofstream(text_file) << "hello";
  try {
    io::ResultReader reader(text_file);
    FAIL();
  } catch (const io::ResultFileError& error) {
    EXPECT_NE(std::string(error.what()).find("not an HDF5 file"), std::string::npos);
    EXPECT_EQ(error.exit_code(), kBadInput);  // the user's file, not a failure of ours
  }
}

TEST(ResultFile, AFileThatCannotBeWrittenIsAWriteError) {
  const auto file = study::parse_study_text(kStudy, "s.yaml");
  const auto tasks = study::expand_tasks(file);
  const std::vector<study::TaskRecord> records(tasks.size());
  const auto path = (temp_dir() / "no_such_folder" / "out.h5").string();
  try {
    io::write_result_file(path, io::ResultSnapshot{&file, &tasks, records, {{}, {}}, 1});
    FAIL();
  } catch (const io::WriteError& error) {
    EXPECT_EQ(error.exit_code(), kFailure);
    EXPECT_NE(std::string(error.what()).find(path), std::string::npos) << error.what();
  }
}

TEST(Journal, AppendsExactlyTheChangedRecordsAndReadsThemBack) {
  const auto path = (temp_dir() / "journal.h5").string();
  io::start_journal(path, 7);
  std::vector<study::TaskRecord> records(5);
  records[1] = ended(study::TaskStatus::Completed, 1, 2, 0.5, "", 1.7, 10.0, 1.1);
  records[1].metrics.value("fit_n_max") = 1000;
  records[1].host = "node7";
  records[3] = ended(study::TaskStatus::Failed, 2, 1, 0.1, "attempt 1: timeout; attempt 2: timeout",
                     NAN, NAN, NAN);
  const std::vector<std::size_t> changed = {3, 1};
  EXPECT_EQ(io::append_to_journal(path, changed, records), 2u);  // rows written = changed
  const auto updates = io::read_journal(path, 7);
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_EQ(updates[0].first, 3u);
  EXPECT_EQ(updates[0].second.error, records[3].error);
  EXPECT_EQ(updates[1].second.host, "node7");
  EXPECT_EQ(updates[0].second.host, "");
  for (std::size_t m = 0; m < kernels::kMetricCount; ++m) {  // every metric, NaN included
    EXPECT_EQ(std::isnan(updates[1].second.metrics[m]), std::isnan(records[1].metrics[m]));
    if (!std::isnan(records[1].metrics[m])) {
      EXPECT_EQ(updates[1].second.metrics[m], records[1].metrics[m]);
    }
  }
  EXPECT_TRUE(io::read_journal(path, 8).empty());  // another generation's journal
  // A write cut short by a kill: the complete records before it still count.
  const auto journal = io::journal_path(path);
  const auto size = fs::file_size(journal);
  io::append_to_journal(path, std::vector<std::size_t>{1, 3}, records);
  fs::resize_file(journal, size + 40);  // inside the first new record
  EXPECT_EQ(io::read_journal(path, 7).size(), 2u);
  io::start_journal(path, 7);
  io::append_to_journal(path, changed, records);
  io::append_to_journal(path, std::vector<std::size_t>{1, 3}, records);
  fs::resize_file(journal, fs::file_size(journal) - 3);  // inside the append's end
  EXPECT_EQ(io::read_journal(path, 7).size(), 4u);       // the 2 whole records count
}

TEST(Journal, AVersion1JournalIsStillRead) {
  // Written before the metric table: magic FSJ1, then per record df, rg and kf in fixed
  // places. A run killed under an older build resumes under this one with its records.
  const auto path = (temp_dir() / "old_journal.h5").string();
  std::string bytes = "FSJ1";
  auto put = [](std::string& out, const auto& value) {
    out.append(reinterpret_cast<const char*>(&value), sizeof value);
  };
  put(bytes, std::uint64_t{5});  // generation
  std::string payload;
  put(payload, std::uint64_t{2});                // task
  put(payload, std::uint8_t{2});                 // COMPLETED
  put(payload, std::int32_t{1});                 // attempts
  put(payload, std::int32_t{3});                 // worker
  for (double value : {0.5, 1.71, 12.5, 1.3}) {  // wall time, df, rg, kf
    put(payload, value);
  }
  put(payload, std::int32_t{0});   // interruptions
  put(payload, std::uint32_t{0});  // error size
  put(bytes, static_cast<std::uint32_t>(payload.size()));
  bytes += payload;
  put(bytes, crc32_of(payload));
  std::ofstream(io::journal_path(path), std::ios::binary) << bytes;
  const auto updates = io::read_journal(path, 5);
  ASSERT_EQ(updates.size(), 1u);
  const auto& record = updates[0].second;
  EXPECT_EQ(updates[0].first, 2u);
  EXPECT_EQ(record.status, study::TaskStatus::Completed);
  EXPECT_EQ(record.worker_rank, 3);
  EXPECT_EQ(record.metrics.value("df"), 1.71);
  EXPECT_EQ(record.metrics.value("rg"), 12.5);
  EXPECT_EQ(record.metrics.value("kf"), 1.3);
  EXPECT_TRUE(std::isnan(record.metrics.value("fit_n_min")));  // not known then
}

TEST(Journal, ReadingAResultFileAppliesItsJournal) {
  const auto file = study::parse_study_text(kStudy, "s.yaml");
  const auto tasks = study::expand_tasks(file);
  std::vector<study::TaskRecord> records(tasks.size());
  std::vector<io::StudyRun> runs(2);
  const auto path = (temp_dir() / "journaled.h5").string();
  io::ResultSnapshot snapshot{&file, &tasks, records, runs, 2};
  snapshot.generation = 3;
  io::write_result_file(path, snapshot);
  io::start_journal(path, 3);
  // The run goes on: every task of the first study completes; only the journal grows.
  std::vector<std::size_t> changed;
  for (std::size_t i = 0; i < 4; ++i) {
    records[i] =
        ended(study::TaskStatus::Completed, 1, 1, 0.1, "", 1.6 + 0.1 * double(i), 5.0, 1.0);
    changed.push_back(i);
  }
  io::append_to_journal(path, changed, records);
  const io::ResultReader reader(path);
  const auto& data = reader.data();
  EXPECT_EQ(data.journal_records, 4u);
  const auto& sweep = data.studies[0];
  EXPECT_EQ(sweep.status, study::StudyStatus::Completed);
  EXPECT_EQ(sweep.completed, 4);
  EXPECT_EQ(reader.records(0)[2].metrics.value("df"), 1.8);
  const auto& summary = reader.summary(0);
  EXPECT_NEAR(io::Table::number(summary.rows[0][*summary.find("mean_df")]), 1.65, 1e-12);
  EXPECT_EQ(data.studies[1].status, study::StudyStatus::Created);  // untouched
  io::remove_journal(path);
  EXPECT_EQ(io::ResultReader(path).data().studies[0].completed, 0);
}

TEST(Journal, AReaderThatRacesAWholeRewriteNeverGoesBack) {
  // The run journals 4 results on generation 3, then rewrites the whole file (generation
  // 4, with a fifth result) and starts its journal afresh. A reader that read the file of
  // generation 3 just before the rewrite then finds generation 4's journal: it must read
  // again, not show generation 3 without its journal (0 completed).
  const auto file = study::parse_study_text(kStudy, "s.yaml");
  const auto tasks = study::expand_tasks(file);
  std::vector<study::TaskRecord> records(tasks.size());
  std::vector<io::StudyRun> runs(2);
  const auto path = (temp_dir() / "race.h5").string();
  io::ResultSnapshot snapshot{&file, &tasks, records, runs, 2};
  snapshot.generation = 3;
  io::write_result_file(path, snapshot);
  io::start_journal(path, 3);
  std::vector<std::size_t> changed;
  for (std::size_t i = 0; i < 4; ++i) {
    records[i] = ended(study::TaskStatus::Completed, 1, 1, 0.1, "", 1.7, 5.0, 1.0);
    changed.push_back(i);
  }
  io::append_to_journal(path, changed, records);
  EXPECT_EQ(io::ResultReader(path).data().studies[0].completed, 4);
  bool rewritten = false;
  const io::ResultReader reader(path, [&] {
    if (rewritten) return;
    rewritten = true;
    records[4] = ended(study::TaskStatus::Completed, 1, 1, 0.1, "", 1.7, 5.0, 1.0);
    snapshot.generation = 4;
    io::write_result_file(path, snapshot);
    io::start_journal(path, 4);
  });
  const auto& data = reader.data();
  EXPECT_TRUE(rewritten);
  EXPECT_EQ(data.generation, 4u);
  EXPECT_EQ(data.studies[0].completed + data.studies[1].completed, 5);
}

namespace {

/// Where study `s` of a reader stands, counted from its rows (the journal applied).
study::ProgressTally counted(const io::ResultReader& reader, std::size_t s) {
  auto tally = study::tally_progress(reader.data().study(s), reader.records(s));
  tally.work.workers = reader.data().workers();
  return tally;
}

/// Study `s`'s summary as a reader shows it equals the summary of its records (the sums
/// gathered in another order: equal up to rounding).
void expect_same_summary(const io::ResultReader& reader, std::size_t s) {
  const auto& summary = reader.summary(s);
  const auto wanted = study::summarize(reader.data().study(s), reader.records(s));
  ASSERT_EQ(summary.rows.size(), wanted.size());
  const auto n_samples = *summary.find("n_samples"), n_failed = *summary.find("n_failed");
  const auto mean_rg = *summary.find("mean_rg"), std_rg = *summary.find("std_rg");
  for (std::size_t p = 0; p < wanted.size(); ++p) {
    const auto& row = summary.rows[p];
    EXPECT_EQ(io::Table::number(row[n_samples]), double(wanted[p].n_samples));
    EXPECT_EQ(io::Table::number(row[n_failed]), double(wanted[p].n_failed));
    const double mean = wanted[p].statistics[1][0], spread = wanted[p].statistics[1][1];
    EXPECT_EQ(std::isnan(io::Table::number(row[mean_rg])), std::isnan(mean));
    if (!std::isnan(mean)) {
      EXPECT_NEAR(io::Table::number(row[mean_rg]), mean, 1e-12 * mean);
    }
    if (!std::isnan(spread)) {
      EXPECT_NEAR(io::Table::number(row[std_rg]), spread, 1e-9 * spread);
    }
  }
}

void expect_same_progress(const study::ProgressTally& got, const study::ProgressTally& wanted) {
  EXPECT_EQ(got.counts.total, wanted.counts.total);
  EXPECT_EQ(got.counts.pending, wanted.counts.pending);
  EXPECT_EQ(got.counts.running, wanted.counts.running);
  EXPECT_EQ(got.counts.completed, wanted.counts.completed);
  EXPECT_EQ(got.counts.failed, wanted.counts.failed);
  EXPECT_EQ(got.failures, wanted.failures);
  EXPECT_EQ(got.work.unfinished, wanted.work.unfinished);
  // Sums kept by adding and taking back: equal up to rounding.
  EXPECT_NEAR(got.work.unfinished_cost, wanted.work.unfinished_cost,
              1e-9 * wanted.work.unfinished_cost);
  EXPECT_NEAR(got.work.timed_cost, wanted.work.timed_cost, 1e-9 * wanted.work.timed_cost);
  EXPECT_NEAR(got.work.timed_wall_s, wanted.work.timed_wall_s, 1e-9 * wanted.work.timed_wall_s);
  EXPECT_EQ(got.work.workers, wanted.work.workers);
}

/// Sets an integer attribute of a study's group, as a tool editing the file would.
void edit_attribute(const std::string& path, const std::string& study, const char* name,
                    std::int64_t value) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  const hid_t group = H5Gopen2(file, ("studies/" + study).c_str(), H5P_DEFAULT);
  const hid_t attribute = H5Aopen(group, name, H5P_DEFAULT);
  ASSERT_GE(attribute, 0);
  EXPECT_GE(H5Awrite(attribute, H5T_NATIVE_INT64, &value), 0);
  H5Aclose(attribute);
  H5Gclose(group);
  H5Fclose(file);
}

}  // namespace

TEST(ResultFile, TheKeptProgressAndItsJournalAgreeWithTheRows) {
  // 4 points x 50 repetitions and a second study. In the file: tasks of every status, some
  // failed for one of two reasons; then the journal changes scattered tasks of two points
  // (pending -> completed, running -> failed, failed -> pending for a retry, failed ->
  // completed). What `status` shows from the kept tally must be what counting the rows
  // gives, and the summary of every point what summarizing its rows gives.
  const auto file = study::parse_study_text(R"(seed: 5
studies:
  - name: grid
    algorithm: DLA
    variable_parameter: n_particles
    values: [100, 200, 400, 800]
    repetitions: 50
  - name: mc
    algorithm: EDEN
    repetitions: 7
)",
                                            "g.yaml");
  const auto tasks = study::expand_tasks(file);
  std::vector<study::TaskRecord> records(tasks.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    switch (i % 5) {
      case 0:
      case 1:
        records[i] = ended(study::TaskStatus::Completed, 1, 1, 0.01 * double(i % 13), "",
                           1.6 + 0.001 * double(i), 5.0 + double(i % 7), 1.0);
        break;
      case 2:
        records[i] = ended(study::TaskStatus::Failed, 2, 1, 1.0,
                           i % 2 ? "attempt 1: killed by signal 9" : "attempt 1: out of memory",
                           NAN, NAN, NAN);
        break;
      case 3:
        records[i].status = study::TaskStatus::Running;
        break;
      default:
        break;  // pending
    }
  }
  std::vector<io::StudyRun> runs(2);
  const auto path = (temp_dir() / "tally.h5").string();
  io::ResultSnapshot snapshot{&file, &tasks, records, runs, 4};
  snapshot.generation = 7;
  io::write_result_file(path, snapshot);
  {
    const io::ResultReader reader(path);
    for (std::size_t s = 0; s < 2; ++s) {
      ASSERT_TRUE(reader.data().studies[s].progress.has_value());
      expect_same_progress(reader.progress(s), counted(reader, s));
    }
  }
  io::start_journal(path, 7);
  std::vector<std::size_t> changed;
  for (std::size_t i = 50; i < 150; i += 3) {  // points 1 and 2
    auto& record = records[i];
    if (record.status == study::TaskStatus::Failed && i % 2) {
      record = ended(study::TaskStatus::Pending, 2, -1, NAN, record.error, NAN, NAN, NAN);
    } else if (record.status == study::TaskStatus::Running) {
      record = ended(study::TaskStatus::Failed, 1, 2, 3.0, "attempt 1: time limit", NAN, NAN, NAN);
    } else {
      record = ended(study::TaskStatus::Completed, 1, 3, 0.2, "", 1.9, 8.0, 1.1);
    }
    changed.push_back(i);
  }
  io::append_to_journal(path, changed, records);
  {
    const io::ResultReader reader(path);
    const auto& grid = reader.data().studies[0];
    expect_same_progress(reader.progress(0), counted(reader, 0));
    EXPECT_EQ(reader.progress(0).failures.count("time limit"), 1u);
    EXPECT_EQ(grid.completed, reader.progress(0).counts.completed);
    const auto summaries = study::summarize(reader.data().study(0), reader.records(0));
    const auto& summary = reader.summary(0);
    const auto mean_df = *summary.find("mean_df");
    const auto n_failed = *summary.find("n_failed");
    ASSERT_EQ(summary.rows.size(), 4u);
    for (std::size_t p = 0; p < 4; ++p) {
      EXPECT_EQ(io::Table::number(summary.rows[p][mean_df]), summaries[p].statistics[0][0]);
      EXPECT_EQ(io::Table::number(summary.rows[p][n_failed]),
                static_cast<double>(summaries[p].n_failed));
    }
  }  // the reader closes the file
  // A tally edited so that it no longer adds up is not believed: the rows are counted.
  edit_attribute(path, "grid", "pending_simulations", 1000);
  const io::ResultReader edited(path);
  EXPECT_FALSE(edited.data().studies[0].progress.has_value());
  expect_same_progress(edited.progress(0), counted(edited, 0));
}

/// A run whose writer rewrites the whole file once, at its start: every checkpoint after
/// that goes to the journal. Every task starts PENDING.
struct JournalingRun {
  JournalingRun(const std::string& study_text, const std::string& name, int ranks = 1)
      : file(study::parse_study_text(study_text, name + ".yaml")),
        tasks(study::expand_tasks(file)),
        path((temp_dir() / (name + ".h5")).string()),
        records(tasks.size()),
        writer(path, file, tasks, journal_only(ranks)) {
    writer.write(records, false);
  }
  static io::RunStart journal_only(int ranks) {
    io::RunStart start;
    start.ranks = ranks;
    start.whole_write_share = 0;
    return start;
  }

  study::StudyFile file;
  study::TaskList tasks;
  std::string path;
  std::vector<study::TaskRecord> records;
  io::ResultWriter writer;
};

/// A study of one point and many tasks: more than one block of the journal at a time.
const char* kLargeStudy = R"(seed: 3
execution: {checkpoint_interval_s: 1}
studies:
  - name: many
    algorithm: EDEN
    base_parameters: {n_particles: 10}
    repetitions: 40000
  - name: few
    algorithm: DLA
    variable_parameter: n_particles
    values: [100, 200, 300]
    repetitions: 2
)";

TEST(Journal, ProgressComesFromItsLastEndAsFromItsRecordsWhereverAKillCutIt) {
  // A run checkpoints through the journal only; each append is read back, and then cut
  // at many places (a kill in the middle of an append): the progress a reader shows,
  // taken from the journal's last end and the whole records after it, must equal the
  // progress counted from every record.
  JournalingRun run(kLargeStudy, "progress_end", 3);
  auto& [file, tasks, path, records, writer] = run;
  std::uint64_t state = 12345;  // a fixed sequence of changes (xorshift)
  const auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const char* reasons[] = {"timeout", "crash (signal 11)", "out of memory"};
  for (int checkpoint = 0; checkpoint < 4; ++checkpoint) {
    // The second checkpoint is a whole write (a kept cluster forces it): what the writer
    // keeps of the points must stay right across it.
    if (checkpoint == 1) writer.keep_cluster(3, study::KeptCluster{{0, 0, 0, 0, 0, 0}, {}});
    std::vector<std::size_t> changed;
    for (std::size_t task = 0; task < tasks.size(); ++task) {
      if (next() % 3 != 0) continue;
      auto& record = records[task];
      switch (record.status) {
        case study::TaskStatus::Pending:
          record.status = study::TaskStatus::Running;
          ++record.attempts;
          break;
        case study::TaskStatus::Running:
          if (next() % 4 == 0) {
            record.status = study::TaskStatus::Failed;
            record.error =
                "attempt " + std::to_string(record.attempts) + ": " + reasons[next() % 3];
          } else {
            record = ended(study::TaskStatus::Completed, record.attempts, 1,
                           0.001 * double(next() % 100), "", 2.0, 3.0, 1.0);
          }
          break;
        case study::TaskStatus::Failed:  // a retry reopens it
          record.status = study::TaskStatus::Pending;
          break;
        case study::TaskStatus::Completed:
          continue;
      }
      changed.push_back(task);
    }
    writer.checkpoint(records, changed, false);
    const io::ResultReader reader(path);
    for (std::size_t s = 0; s < 2; ++s) {
      expect_same_progress(reader.progress(s), counted(reader, s));
      expect_same_summary(reader, s);
    }
    EXPECT_EQ(reader.progress(0).counts.completed,
              study::count_tasks(study::RecordsView(records).subview(0, 40000)).completed);
  }
  // Kills in the middle of the last append (its last blocks), wherever they fall.
  const auto journal = io::journal_path(path);
  const auto whole = fs::file_size(journal);
  const auto kept = journal + ".whole";
  fs::copy_file(journal, kept, fs::copy_options::overwrite_existing);
  ASSERT_GT(whole, 3000000u);
  for (std::uintmax_t cut = whole; cut > whole - 3000000; cut -= 99991) {
    fs::resize_file(journal, cut);
    const io::ResultReader reader(path);
    for (std::size_t s = 0; s < 2; ++s) {
      expect_same_progress(reader.progress(s), counted(reader, s));
      expect_same_summary(reader, s);
    }
  }
  // The progress is read from the end: a record damaged early in the journal (which a
  // reader of the records stops at) does not change it, since it is not read.
  fs::copy_file(kept, journal, fs::copy_options::overwrite_existing);
  const auto before = io::ResultReader(path).progress(0);
  const auto summary_before = io::ResultReader(path).summary(0);
  {
    std::fstream bytes(journal, std::ios::in | std::ios::out | std::ios::binary);
    bytes.seekp(40);
    bytes.put('\x7f');
  }
  const io::ResultReader reader(path);
  expect_same_progress(reader.progress(0), before);
  EXPECT_GT(before.counts.ended_tasks(), 0);
  // A reader of the records stops at the damaged one: fewer tasks ended for it.
  EXPECT_LT(study::count_tasks(reader.records(0)).ended_tasks(), before.counts.ended_tasks());
  // The summary too comes from the end, not from the rows.
  for (const char* column : {"n_samples", "n_failed", "mean_rg", "std_rg"}) {
    const auto c = *summary_before.find(column);
    EXPECT_EQ(io::Table::number(reader.summary(0).rows[0][c]),
              io::Table::number(summary_before.rows[0][c]))
        << column;
  }
  EXPECT_GT(io::Table::number(summary_before.rows[0][*summary_before.find("n_samples")]), 0);
}

TEST(Journal, ASummaryOfMorePointsThanAnEndCarriesComesFromTheRows) {
  // 300 points changed since the whole write: more than an end carries, so a reader
  // reads the points' rows; the summaries are the same.
  std::string values;
  for (int n = 10; n < 310; ++n)
    values += (values.empty() ? "" : ", ") + std::to_string(n);
  JournalingRun run(
      "seed: 3\nstudies:\n  - name: grid\n    algorithm: EDEN\n    variable_parameter: "
      "n_particles\n    values: [" +
          values + "]\n    repetitions: 2\n",
      "many_points");
  auto& [file, tasks, path, records, writer] = run;
  std::vector<std::size_t> changed;
  for (std::size_t task = 0; task < tasks.size(); ++task) {
    records[task] =
        ended(study::TaskStatus::Completed, 1, 1, 0.01, "", NAN, 1.0 + double(task % 7), 1.0);
    changed.push_back(task);
  }
  writer.checkpoint(records, changed, false);
  const io::ResultReader reader(path);
  expect_same_summary(reader, 0);
  EXPECT_EQ(io::Table::number(reader.summary(0).rows[299][*reader.summary(0).find("n_samples")]),
            2);
}

TEST(Journal, AnEndWhoseCountsDoNotAddUpIsNotBelieved) {
  // An end edited so that its checksum holds but study 0's counts do not add up to its
  // total: a reader must count the records instead of showing it.
  JournalingRun run(kStudy, "edited_end");
  auto& [file, tasks, path, records, writer] = run;
  records[1] = ended(study::TaskStatus::Completed, 1, 1, 0.5, "", 1.7, 10.0, 1.1);
  records[2] = ended(study::TaskStatus::Failed, 1, 1, 0.5, "attempt 1: timeout", NAN, NAN, NAN);
  writer.checkpoint(records, std::vector<std::size_t>{1, 2}, false);
  expect_same_progress(io::ResultReader(path).progress(0), counted(io::ResultReader(path), 0));
  // The end's payload: [length][kind, records, studies, study 0: records, total, pending,
  // running, completed, ...][CRC]; the last 12 bytes are its length, its mark, its CRC.
  const auto journal = io::journal_path(path);
  std::string bytes;
  {
    std::ifstream in(journal, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::uint32_t length = 0;
  std::memcpy(&length, bytes.data() + bytes.size() - 12, sizeof length);
  const std::size_t payload_at = bytes.size() - 4 - length;
  const std::size_t completed_at = payload_at + 1 + 8 + 4 + 8 + 3 * 8;
  std::int64_t completed = 0;
  std::memcpy(&completed, bytes.data() + completed_at, sizeof completed);
  ASSERT_EQ(completed, 1);
  completed = 3;  // more than there are, the total unchanged
  std::memcpy(bytes.data() + completed_at, &completed, sizeof completed);
  const std::uint32_t crc = crc32_of(std::string_view(bytes).substr(payload_at, length));
  std::memcpy(bytes.data() + bytes.size() - 4, &crc, sizeof crc);
  std::ofstream(journal, std::ios::binary | std::ios::trunc) << bytes;
  const io::ResultReader reader(path);
  EXPECT_EQ(reader.progress(0).counts.completed, 1);
  expect_same_progress(reader.progress(0), counted(reader, 0));
}
