// A relay's journal of its group's results, and what a reader of a killed run takes from it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "fracstudy/io/errors.hpp"
#include "fracstudy/io/journal.hpp"
#include "fracstudy/io/relay_journal.hpp"
#include "fracstudy/io/result_file.hpp"
#include "fracstudy/io/result_writer.hpp"
#include "fracstudy/study/parser.hpp"
#include "scratch_dir.hpp"

using namespace fracstudy;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  auto dir = test_support::scratch_dir() / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

io::RelayedCompletion completion(std::size_t task, double df, int attempt = 1) {
  io::RelayedCompletion c;
  c.task = task;
  c.attempt = attempt;
  c.rank = 5;
  c.wall_time_s = 0.25;
  c.host = "node7";
  c.metrics.value("df") = df;
  return c;
}

}  // namespace

TEST(RelayJournal, ReadsBackWhatWasAppendedAndStopsAtAnEntryCutShort) {
  const auto result = (fresh_dir("round_trip") / "out.h5").string();
  const auto path = io::relay_journal_path(result, 4);
  std::uint64_t token = 0;
  std::uint64_t after_first = 0;
  {
    io::RelayJournalWriter writer(path);
    token = writer.token();
    EXPECT_NE(token, 0u);
    const std::vector<io::RelayedCompletion> first{completion(3, 1.5), completion(9, 1.7, 2)};
    writer.append(first, true);
    after_first = fs::file_size(path);
    const std::vector<io::RelayedCompletion> second{completion(12, 1.9)};
    writer.append(second, false);
  }
  EXPECT_EQ(io::relay_journal_token(path), token);
  const auto all = io::read_relay_journal(path);
  EXPECT_EQ(all.token, token);
  ASSERT_EQ(all.completions.size(), 3u);
  EXPECT_EQ(all.completions[1].task, 9u);
  EXPECT_EQ(all.completions[1].attempt, 2);
  EXPECT_EQ(all.completions[1].rank, 5);
  EXPECT_EQ(all.completions[1].host, "node7");
  EXPECT_EQ(all.completions[1].wall_time_s, 0.25);
  EXPECT_EQ(all.completions[1].metrics.value("df"), 1.7);
  EXPECT_TRUE(std::isnan(all.completions[1].metrics.value("rg")));
  EXPECT_EQ(all.end_offset, fs::file_size(path));
  // Read on from where a read ended: only what came after.
  const auto later = io::read_relay_journal(path, after_first);
  ASSERT_EQ(later.completions.size(), 1u);
  EXPECT_EQ(later.completions[0].task, 12u);
  // A kill anywhere in the last append: the entries before it are read, nothing else, and
  // the next read starts where the damage is.
  const auto full = fs::file_size(path);
  for (auto size = after_first; size < full; ++size) {
    fs::resize_file(path, size);
    const auto cut = io::read_relay_journal(path);
    ASSERT_EQ(cut.completions.size(), 2u) << "cut at " << size;
    EXPECT_EQ(cut.end_offset, after_first);
  }
  // A flipped byte in an entry's payload fails its CRC: it and all after it are not read.
  fs::resize_file(path, after_first);
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(after_first) - 10);
    file.put('\x7f');
  }
  EXPECT_EQ(io::read_relay_journal(path).completions.size(), 1u);
}

TEST(RelayJournal, NeverWritesThroughAnEarlierFileOrALink) {
  const auto dir = fresh_dir("refused");
  const auto result = (dir / "out.h5").string();
  const auto target = dir / "precious.txt";
  std::ofstream(target) << "keep me";
  fs::create_symlink(target, io::relay_journal_path(result, 1));
  EXPECT_THROW(io::RelayJournalWriter{io::relay_journal_path(result, 1)}, io::WriteError);
  std::ofstream(io::relay_journal_path(result, 2)) << "an earlier run's";
  EXPECT_THROW(io::RelayJournalWriter{io::relay_journal_path(result, 2)}, io::WriteError);
  EXPECT_FALSE(io::relay_journal_token(io::relay_journal_path(result, 1)));  // a link: not read
  EXPECT_FALSE(io::relay_journal_token(io::relay_journal_path(result, 2)));  // not a journal
  // Only OUT.h5.journal.relay<digits> are relay journals; removing them removes the link,
  // never what it points to.
  std::ofstream(dir / "out.h5.journal.relay3x") << "";
  std::ofstream(dir / "other.h5.journal.relay3") << "";
  EXPECT_EQ(io::relay_journal_paths(result),
            (std::vector<std::string>{io::relay_journal_path(result, 1),
                                      io::relay_journal_path(result, 2)}));
  io::remove_relay_journals(result);
  EXPECT_TRUE(io::relay_journal_paths(result).empty());
  EXPECT_TRUE(fs::exists(target));
  EXPECT_TRUE(fs::exists(dir / "out.h5.journal.relay3x"));
  EXPECT_TRUE(fs::exists(dir / "other.h5.journal.relay3"));
}

TEST(RelayJournal, AReaderOfAKilledRunCompletesTheTasksItShowsUnfinished) {
  const auto file = study::parse_study_text(R"(seed: 3
studies:
  - name: sweep
    algorithm: DLA
    variable_parameter: n_particles
    values: [100, 200]
    repetitions: 3
)",
                                            "s.yaml");
  const auto tasks = study::expand_tasks(file);
  std::vector<study::TaskRecord> records(tasks.size());
  records[0].status = study::TaskStatus::Completed;  // rank 0 wrote it: the relay's is stale
  records[0].attempts = 1;
  records[0].metrics.value("df") = 1.6;
  records[1].status = study::TaskStatus::Running;  // a failed attempt and a job's death before
  records[1].attempts = 2;
  records[1].error = "attempt 1: timeout";
  records[1].interruptions = 1;
  // Written FAILED, then reopened on rank 0 (a bad node's failures given back) and computed
  // under a relay before the next checkpoint: the relay's result completes it.
  records[4].status = study::TaskStatus::Failed;
  records[4].attempts = 4;
  records[4].error = "attempt 4: crash";
  std::vector<io::StudyRun> runs(1);
  const auto dir = fresh_dir("reader");
  const auto path = (dir / "killed.h5").string();
  io::ResultSnapshot snapshot{&file, &tasks, records, runs, 8};
  snapshot.generation = 2;
  io::write_result_file(path, snapshot);
  io::start_journal(path, 2);
  records[2].status = study::TaskStatus::Running;  // journaled by rank 0 after the write
  records[2].attempts = 1;
  io::append_to_journal(path, std::vector<std::size_t>{2}, records);
  {
    io::RelayJournalWriter relay(io::relay_journal_path(path, 1));
    const std::vector<io::RelayedCompletion> kept{completion(0, 9.0), completion(1, 1.7, 3),
                                                  completion(2, 1.8), completion(4, 9.0),
                                                  completion(1, 9.0, 4)};
    relay.append(kept, true);
  }
  const io::ResultReader reader(path);
  const auto read = reader.records(0);
  EXPECT_EQ(read[0].metrics.value("df"), 1.6);
  EXPECT_EQ(read[1].status, study::TaskStatus::Completed);
  EXPECT_EQ(read[1].metrics.value("df"), 1.7);  // the first completion of it
  EXPECT_EQ(read[1].attempts, 3);
  EXPECT_EQ(read[1].error, "attempt 1: timeout");  // its history stays
  EXPECT_EQ(read[1].interruptions, 1);
  EXPECT_EQ(read[1].host, "node7");
  EXPECT_EQ(read[1].worker_rank, 5);
  EXPECT_EQ(read[2].status, study::TaskStatus::Completed);
  EXPECT_EQ(read[2].metrics.value("df"), 1.8);
  EXPECT_EQ(read[3].status, study::TaskStatus::Pending);
  EXPECT_EQ(read[4].status, study::TaskStatus::Completed);
  EXPECT_EQ(read[4].metrics.value("df"), 9.0);
  EXPECT_EQ(read[4].error, "attempt 4: crash");  // its history stays
  EXPECT_EQ(reader.data().studies[0].completed, 4);
  EXPECT_EQ(reader.data().studies[0].failed, 0);
  // The first point's summary holds the relays' results.
  const auto& summary = reader.summary(0);
  EXPECT_NEAR(io::Table::number(summary.rows[0][*summary.find("mean_df")]), (1.6 + 1.7 + 1.8) / 3,
              1e-12);
}

TEST(RelayJournal, ACheckpointCountsKeptResultsAsTheSchedulerDoes) {
  // With relays, rank 0's checkpoint does not count each kept result: its journal's last
  // end takes the scheduler's tallies. What `status` then reads from that end must equal
  // what the rows say once the relays' journals are applied to them.
  const auto file = study::parse_study_text(R"(seed: 3
studies:
  - name: sweep
    algorithm: DLA
    variable_parameter: n_particles
    values: [100, 200, 300]
    repetitions: 4
  - name: one
    algorithm: EDEN
    base_parameters: {n_particles: 50}
    repetitions: 2
)",
                                            "s.yaml");
  const auto tasks = study::expand_tasks(file);
  const auto dir = fresh_dir("counted");
  const auto path = (dir / "kept.h5").string();
  io::RunStart start;
  start.ranks = 7;
  start.whole_write_share = 0;  // checkpoints go to the journal, as with relays
  study::TaskRecords records(tasks.size());
  io::ResultWriter writer(path, file, tasks, start);
  writer.write(records, false);
  // Kept by a relay: tasks 0-5 of the sweep and the second study's first; task 6 runs,
  // task 7 failed for good (counted one by one, with its reason).
  std::vector<io::RelayedCompletion> kept;
  std::vector<std::size_t> changed;
  for (const std::size_t task : {0UL, 1UL, 2UL, 3UL, 4UL, 5UL, 12UL}) {
    records.set_status(task, study::TaskStatus::Completed);
    records.set_attempts(task, 1);
    records.set_wall_time_s(task, 0.25 * static_cast<double>(task + 1));
    records.set_metrics_elsewhere(task);
    auto c = completion(task, 1.5 + 0.01 * static_cast<double>(task));
    c.wall_time_s = 0.25 * static_cast<double>(task + 1);
    kept.push_back(c);
    changed.push_back(task);
  }
  records.set_status(6, study::TaskStatus::Running);
  records.set_attempts(6, 1);
  records.set_status(7, study::TaskStatus::Failed);
  records.set_attempts(7, 1);
  records.set_error(7, "attempt 1: timeout");
  changed.push_back(6);
  changed.push_back(7);
  {
    io::RelayJournalWriter relay(io::relay_journal_path(path, 1));
    relay.append(kept, true);
  }
  // The scheduler's counts: the tallies of the records as they stand.
  const study::RecordsView view(records);
  std::vector<study::ProgressTally> now{
      study::tally_progress(file.studies[0], view.subview(0, 12)),
      study::tally_progress(file.studies[1], view.subview(12, 2))};
  writer.checkpoint(records, changed, false, now);

  const io::ResultReader reader(path);
  EXPECT_EQ(reader.data().studies[0].completed, 6);
  EXPECT_EQ(reader.data().studies[0].failed, 1);
  EXPECT_EQ(reader.data().studies[1].completed, 1);
  for (std::size_t s = 0; s < 2; ++s) {
    const auto progress = reader.progress(s);
    auto rows = study::tally_progress(reader.data().study(s), reader.records(s));
    EXPECT_EQ(progress.counts.completed, rows.counts.completed) << "study " << s;
    EXPECT_EQ(progress.counts.running, rows.counts.running) << "study " << s;
    EXPECT_EQ(progress.counts.pending, rows.counts.pending) << "study " << s;
    EXPECT_EQ(progress.counts.failed, rows.counts.failed) << "study " << s;
    EXPECT_EQ(progress.failures, rows.failures) << "study " << s;
    EXPECT_NEAR(progress.work.timed_wall_s, rows.work.timed_wall_s, 1e-12) << "study " << s;
    EXPECT_NEAR(progress.work.unfinished_cost, rows.work.unfinished_cost,
                1e-9 * rows.work.unfinished_cost)
        << "study " << s;
  }
  // Only the records rank 0 holds whole were written to its journal.
  EXPECT_EQ(writer.journaled_rows(), 2u);
  EXPECT_EQ(reader.records(0)[3].metrics.value("df"), 1.53);  // from the relay's journal
}
