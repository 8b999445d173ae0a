// graphrun: train, evaluate and inspect YAML dataflow graphs.
#include "commands.hpp"
#include "sweep.hpp"
#include "train/signals.hpp"

#include <graphrun/error.hpp>

#include <CLI/CLI.hpp>
#include <dnnl.hpp>

#include <cstdio>
#include <filesystem>
#include <new>

int main(int argc, char** argv) {
  CLI::App app{"graphrun: train and run Siamese and pair-matching networks written as YAML graphs"};
  app.require_subcommand(1);
  graphrun::cli::Options opt;

  auto common = [&](CLI::App* cmd) {
    cmd->add_option("graph", opt.graph, "graph file (YAML)")->required()->check(CLI::ExistingFile);
    cmd->add_option("--seed", opt.seed, "seed for every random choice (overrides train.seed)");
    cmd->add_option("--data", opt.data, "data folder (overrides data.path)");
    cmd->add_option("--threads", opt.threads, "compute threads (default: train.threads, else all cores)");
    cmd->add_option("--out", opt.out, "run folder (default runs/<graph name>)");
    cmd->add_option("--precision", opt.precision, "f32 or bf16: what convolutions and inner products compute in (overrides train.precision)")
        ->check(CLI::IsMember({"f32", "bf16"}));
    cmd->add_flag("-v,--verbose", opt.verbose, "log every primitive and its oneDNN implementation");
  };
  CLI::App* train = app.add_subcommand("train", "train a graph, then score it on its test split");
  common(train);
  train->add_option("--epochs", opt.epochs, "number of epochs (overrides train.epochs)");
  train->add_option("--weights", opt.weights, "start from these weights (a checkpoint of this graph)");
  train->add_option("--resume", opt.resume, "continue the interrupted run in this folder from its last.safetensors");
  train->add_flag("--quiet", opt.quiet, "no progress output");
  train->add_flag("--weights-from-other-graph", opt.weights_from_other_graph, "load --weights written by another graph (tensors matched by name)");

  graphrun::cli::SweepOptions sweep_opt;
  CLI::App* sweep = graphrun::cli::add_sweep(app, sweep_opt);

  CLI::App* eval = app.add_subcommand("eval", "score a graph on its test split");
  common(eval);
  eval->add_option("--weights", opt.weights, "checkpoint to load (default: none, for graphs without training)");
  eval->add_flag("--weights-from-other-graph", opt.weights_from_other_graph, "load --weights written by another graph (tensors matched by name)");
  eval->add_option("--split", opt.split, "split to score: train, validation or test")->check(CLI::IsMember({"train", "validation", "test"}));

  CLI::App* summary = app.add_subcommand("summary", "print nodes, output shapes and parameter counts");
  summary->add_option("graph", opt.graph, "graph file (YAML)")->required()->check(CLI::ExistingFile);

  CLI::App* plugins = app.add_subcommand("plugins", "list every op and the library it comes from");
  plugins->add_flag("-v,--verbose", opt.verbose, "also list each op's attributes");

  CLI11_PARSE(app, argc, argv);
  try {
    if (*train) return graphrun::cli::train(opt);
    if (*sweep) return graphrun::cli::sweep(sweep_opt);
    if (*eval) return graphrun::cli::eval(opt);
    if (*summary) return graphrun::cli::summary(opt);
    if (*plugins) return graphrun::cli::plugins(opt);
  } catch (const graphrun::Interrupted& e) {  // a sweep's point: its last.safetensors is written
    std::fprintf(stderr, "graphrun: interrupted at epoch %lld step %lld\n", (long long)e.epoch, (long long)e.step);
    return 128 + e.signal;
  } catch (const graphrun::Error& e) {
    std::fprintf(stderr, "graphrun: error: %s\n", e.what());
    return 1;
  } catch (const dnnl::error& e) {
    std::fprintf(stderr, "graphrun: oneDNN error: %s\n", e.what());
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {  // every known path reports its own; a last resort
    std::fprintf(stderr, "graphrun: error: %s: %s (expected a readable file or a writable folder)\n", e.path1().c_str(),
                 e.code().message().c_str());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "graphrun: error: out of memory (is a layer, a batch or a file far larger than intended?)\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "graphrun: unexpected error: %s\n", e.what());
    return 2;
  }
  return 0;
}
