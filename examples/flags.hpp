// The command line of the example programs: flags read in order, each with its
// value if it takes one. A missing or malformed value, or an unknown flag, stops
// the program with a message naming the flag, followed by the usage text; --help
// prints the usage.
//
//     Flags args("prosqa_demo", kUsage, argc, argv);
//     while (args.next()) {
//       if (args.is("--models")) o.models = args.text();
//       else if (args.is("--question")) o.question = args.count();
//       else args.unknown();
//     }
#pragma once

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

class Flags {
 public:
  Flags(std::string program, const char* usage, int argc, char** argv)
      : Flags(std::move(program), usage, std::vector<std::string>(argv + 1, argv + argc)) {}
  Flags(std::string program, const char* usage, std::vector<std::string> args)
      : program_(std::move(program)), usage_(usage), args_(std::move(args)) {}

  // Moves to the next flag; false when there is none. Answers --help itself.
  bool next() {
    if (++at_ >= args_.size()) return false;
    if (is("--help") || is("-h")) {
      std::printf("%s", usage_);
      std::exit(0);
    }
    return true;
  }

  bool is(std::string_view name) const { return args_[at_] == name; }
  const std::string& flag() const { return args_[at_]; }

  // The current flag's value: as given, as a number, as a count (an integer >= 0).
  std::string text() {
    if (at_ + 1 >= args_.size()) error(flag() + " needs a value");
    return args_[++at_];
  }
  double number() {
    const std::string& name = flag();
    const std::string v = text();
    try {
      std::size_t used = 0;
      const double x = std::stod(v, &used);
      if (used == v.size()) return x;
    } catch (const std::exception&) {
    }
    error(name + " expects a number, got '" + v + "'");
  }
  long count() {
    const std::string& name = flag();
    const double x = number();
    if (x < 0 || x != double(long(x))) error(name + " expects a whole number >= 0, got " + args_[at_]);
    return long(x);
  }

  // Reads `more` right after the current flag (for a flag that names a file of flags).
  void insert(const std::vector<std::string>& more) {
    args_.insert(args_.begin() + long(at_) + 1, more.begin(), more.end());
  }

  // Every argument, as typed (for the record a program keeps of how it was run).
  std::string command_line() const {
    std::string s = program_;
    for (const auto& a : args_) s += " " + a;
    return s;
  }

  [[noreturn]] void unknown() const { error("unknown flag " + flag()); }
  [[noreturn]] void error(const std::string& what) const { usage_error(program_, usage_, what); }

  // Stops the program: "<program>: <what>", then the usage text; exit status 2.
  [[noreturn]] static void usage_error(const std::string& program, const char* usage, const std::string& what) {
    std::fprintf(stderr, "%s: %s\n\n%s", program.c_str(), what.c_str(), usage);
    std::exit(2);
  }

 private:
  std::string program_;
  const char* usage_;
  std::vector<std::string> args_;
  std::size_t at_ = std::size_t(-1);  // next() moves to 0 first
};
