// tests/processing/schema/schema_set_test.cpp
//
// SchemaSet loads `<event_type>.json` files from a directory, all or
// nothing, and names the file that spoiled a load.
#include "processing/schema/schema_set.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace tradpal::schema {
namespace {

namespace fs = std::filesystem;

class SchemaSetDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tradpal-schema-set-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& name, std::string_view text) {
    std::ofstream out(dir_ / name, std::ios::binary);
    out << text;
  }

  fs::path dir_;
};

TEST_F(SchemaSetDirectory, LoadsOneSchemaPerEventTypeFile) {
  write("market_data_update.json", R"({"type": "object", "required": ["symbol"]})");
  write("risk_alert.json", R"({"type": "object", "required": ["level"]})");
  write("README.txt", "not a schema");
  const SchemaSet set = SchemaSet::load_directory(dir_);
  EXPECT_EQ(set.size(), 2U);
  ASSERT_NE(set.find("market_data_update"), nullptr);
  EXPECT_EQ(set.find("order_executed"), nullptr);
  simdjson::dom::parser parser;
  EXPECT_TRUE(set.find("market_data_update")->validate_json(R"({"symbol": "BTC"})", parser).ok());
  EXPECT_FALSE(set.find("risk_alert")->validate_json(R"({"symbol": "BTC"})", parser).ok());
}

TEST_F(SchemaSetDirectory, OneBadFileRefusesTheWholeSetAndIsNamed) {
  write("market_data_update.json", R"({"type": "object"})");
  write("risk_alert.json", R"({"properties": {"level": {"enum": [1, 2], "maximun": 3}}})");
  try {
    (void)SchemaSet::load_directory(dir_);
    FAIL() << "a bad file must refuse the set";
  } catch (const SchemaError& e) {
    EXPECT_EQ(e.source(), "risk_alert.json");
    EXPECT_EQ(e.schema_path(), "/properties/level/maximun");
    EXPECT_EQ(std::string(e.what()).rfind("risk_alert.json: ", 0), 0U) << e.what();
  }
}

TEST_F(SchemaSetDirectory, InvalidJsonIsNamedToo) {
  write("trading_signal.json", R"({"type": )");
  try {
    (void)SchemaSet::load_directory(dir_);
    FAIL() << "invalid JSON must refuse the set";
  } catch (const SchemaError& e) {
    EXPECT_EQ(e.source(), "trading_signal.json");
  }
}

TEST(SchemaSet, MissingDirectoryThrows) {
  EXPECT_THROW((void)SchemaSet::load_directory(fs::path("no-such-directory-for-schemas")), fs::filesystem_error);
}

}  // namespace
}  // namespace tradpal::schema
