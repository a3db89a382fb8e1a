#pragma once
/// An input iterator over a container whose elements are made when read (container[i]
/// returns a value): the task list and the compact task records.
#include <cstddef>
#include <iterator>

namespace fracstudy::study {

template <class Container, class Value>
class IndexIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = Value;
  using difference_type = std::ptrdiff_t;
  using pointer = const Value*;
  using reference = Value;
  IndexIterator(const Container* container, std::size_t index)
      : container_(container), index_(index) {}
  Value operator*() const { return (*container_)[index_]; }
  IndexIterator& operator++() {
    ++index_;
    return *this;
  }
  bool operator==(const IndexIterator& other) const { return index_ == other.index_; }

 private:
  const Container* container_;
  std::size_t index_;
};

}  // namespace fracstudy::study
