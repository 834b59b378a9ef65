#include "components/pipeline/items.hpp"

#include <cstring>

#include "schemas/error.hpp"

namespace loom::pipeline {

model::PartialShape item_shape(const model::PartialShape& shape, const std::string& what) {
    if (!shape.rank_is_static()) return model::PartialShape::dynamic();
    LOOM_REQUIRE(shape.rank() >= 1,
                 "'{}' is a scalar: a demultiply splits its outputs' first dimension", what);
    std::vector<model::Dimension> dims;
    for (std::size_t i = 1; i < shape.dims().size(); ++i)
        dims.push_back(shape[i]);
    return model::PartialShape(std::move(dims));
}

model::PartialShape gathered_shape(const model::PartialShape& item) {
    if (!item.rank_is_static()) return model::PartialShape::dynamic();
    std::vector<model::Dimension> dims{model::Dimension::dynamic()};
    for (std::size_t i = 0; i < item.dims().size(); ++i)
        dims.push_back(item[i]);
    return model::PartialShape(std::move(dims));
}

model::Tensor slice_item(const model::Tensor& t, std::int64_t k) {
    LOOM_ASSERT(!t.shape().empty() && k < t.shape()[0], "item {} of a tensor of shape {}", k,
                model::to_string(t.shape()));
    model::Shape shape(t.shape().begin() + 1, t.shape().end());
    if (t.element_type() == ElementType::STRING) {
        const auto values = t.string_values();
        const auto per = static_cast<std::size_t>(model::shape_size(shape));
        std::vector<std::string> mine;
        for (std::size_t i = 0; i < per; ++i)
            mine.emplace_back(values[static_cast<std::size_t>(k) * per + i]);
        return model::Tensor::strings(std::move(shape), mine);
    }
    const auto bytes = t.byte_size() / static_cast<std::size_t>(t.shape()[0]);
    return model::Tensor::view(t.element_type(), std::move(shape),
                               t.bytes().subspan(static_cast<std::size_t>(k) * bytes, bytes),
                               t.owner());
}

model::Tensor stack_items(const std::vector<model::Tensor>& items, ElementType type,
                          const model::PartialShape& item, const std::string& what) {
    model::Shape shape{static_cast<std::int64_t>(items.size())};
    if (items.empty()) {
        if (item.rank_is_static())
            for (std::size_t i = 0; i < item.dims().size(); ++i)
                shape.push_back(item[i].is_static() ? item[i].length() : 0);
        if (type == ElementType::STRING) return model::Tensor::strings(std::move(shape), {});
        return model::Tensor::allocate(type, std::move(shape));
    }
    const auto& first = items.front();
    for (std::size_t k = 1; k < items.size(); ++k)
        LOOM_REQUIRE(
            items[k].element_type() == first.element_type() && items[k].shape() == first.shape(),
            "{}: gathering needs items of one shape, but item 0 is {} {} and item {} "
            "is {} {}",
            what, loom::to_string(first.element_type()), model::to_string(first.shape()), k,
            loom::to_string(items[k].element_type()), model::to_string(items[k].shape()));
    shape.insert(shape.end(), first.shape().begin(), first.shape().end());
    if (first.element_type() == ElementType::STRING) {
        std::vector<std::string> all;
        for (const auto& t : items)
            for (auto v : t.string_values())
                all.emplace_back(v);
        return model::Tensor::strings(std::move(shape), all);
    }
    auto out = model::Tensor::allocate(first.element_type(), std::move(shape));
    std::byte* p = out.mutable_data();
    for (const auto& t : items) {
        if (t.byte_size()) std::memcpy(p, t.bytes().data(), t.byte_size());
        p += t.byte_size();
    }
    return out;
}

} // namespace loom::pipeline
